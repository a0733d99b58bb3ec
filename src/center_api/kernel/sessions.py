"""ONNX Runtime sessions: loaded on first use, shared, unloaded when idle or over budget."""

import os
import threading
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import onnxruntime as ort

from center_api.core.errors import ModelLoadError
from center_api.core.logging import get_logger
from center_api.core.metrics import Metrics
from center_api.core.settings import InferenceSettings
from center_api.kernel.model_store import ModelSpec, ModelStore
from center_api.kernel.onnx_patch import with_dynamic_spatial_dims
from center_api.kernel.scheduler import current_job, enter_phase

logger = get_logger("center_api.sessions")

# "auto" arena: only for fixed inputs up to this size (u2netp and u2net at 320, the face mesh).
ARENA_MAX_INPUT_PIXELS = 512 * 512


def available_cpus() -> int:
    """CPUs this process may run on (honours affinity masks)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def intra_op_threads(settings: InferenceSettings, cpus: int | None = None) -> int:
    """Threads per session, so that slots x threads <= cores (unless set explicitly)."""
    if settings.intra_op_threads:
        return settings.intra_op_threads
    return max(1, (cpus or available_cpus()) // settings.max_concurrent)


def uses_arena(settings: InferenceSettings, spec: ModelSpec) -> bool:
    """Whether ``spec``'s session keeps ONNX Runtime's memory arena (`cpu_mem_arena`).

    "auto" keeps it for models fed a fixed, small size (at most `ARENA_MAX_INPUT_PIXELS`): their
    activations are the same every run, so the arena's size is bounded (u2netp: ~300 MB per
    slot) and reusing it saves the page faults of fresh memory. A model that takes any size
    would keep an arena as large as the largest image it ever saw; a 1024 px one, gigabytes.
    """
    if settings.cpu_mem_arena != "auto":
        return bool(settings.cpu_mem_arena)
    size = spec.input.size
    if size is None or spec.params.get("dynamic_spatial_dims"):
        return False
    return size[0] * size[1] <= ARENA_MAX_INPUT_PIXELS


class InferenceStats:
    """Counts overlapping ``session.run`` calls; the tests read the peak."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.active = 0
        self.peak = 0
        self.total = 0

    def enter(self) -> None:
        """Record the start of one inference."""
        with self._lock:
            self.active += 1
            self.total += 1
            self.peak = max(self.peak, self.active)

    def leave(self) -> None:
        """Record the end of one inference."""
        with self._lock:
            self.active -= 1


class JobAbandonedError(Exception):
    """Raised inside an abandoned job: its caller has already been answered."""

    def __init__(self, model_id: str) -> None:
        super().__init__(f"the job running {model_id!r} was abandoned")


class LoadedModel:
    """A ready session plus its manifest entry; ``run`` is thread-safe (ORT allows it)."""

    def __init__(
        self,
        spec: ModelSpec,
        session: ort.InferenceSession,
        stats: InferenceStats,
        metrics: Metrics,
    ) -> None:
        self.spec = spec
        self.session = session
        self.input_names = [i.name for i in session.get_inputs()]
        self.last_used = time.monotonic()
        self._stats = stats
        self._metrics = metrics

    def run(self, feeds: Mapping[str, np.ndarray]) -> list[Any]:
        """Run the session; must be called from a scheduler slot, never on the event loop.

        Raises:
            JobAbandonedError: the job was abandoned (timed out): this call is refused, or the
                running one is stopped.
            ModelLoadError: ONNX Runtime failed.
        """
        job = current_job()
        if job is not None and job.is_abandoned:
            raise JobAbandonedError(self.spec.id)
        enter_phase("infer")  # a job that gave its slot away takes one again first
        self.last_used = time.monotonic()
        self._stats.enter()
        start = time.perf_counter()
        try:
            options = job.run_options if job is not None else None
            outputs = list(self.session.run(None, dict(feeds), options))
        except Exception as exc:
            if job is not None and job.is_abandoned:
                raise JobAbandonedError(self.spec.id) from exc
            self._metrics.model_inference_errors_total.labels(self.spec.id).inc()
            raise ModelLoadError(
                f"Model {self.spec.id!r} failed to run: {exc}", details={"model": self.spec.id}
            ) from exc
        finally:
            self._metrics.model_inference_duration_seconds.labels(self.spec.id).observe(
                time.perf_counter() - start
            )
            self._stats.leave()
        enter_phase("compose")  # what follows a model call works on its output
        return outputs


class SessionCache:
    """Lazily built sessions keyed by model id."""

    def __init__(self, store: ModelStore, settings: InferenceSettings, metrics: Metrics) -> None:
        self._store = store
        self._settings = settings
        self._metrics = metrics
        self._models: dict[str, LoadedModel] = {}
        self._lock = threading.Lock()
        self.stats = InferenceStats()
        self.threads = intra_op_threads(settings)

    def get(self, model_id: str) -> LoadedModel:
        """Return the loaded model, building its session on first use (blocking)."""
        with self._lock:
            model = self._models.get(model_id)
            if model is None:
                model = self._load(model_id)
                self._models[model_id] = model
                self._evict_over_budget(keep=model_id)
            model.last_used = time.monotonic()
            return model

    def loaded(self) -> list[str]:
        """Ids of the models with a live session."""
        with self._lock:
            return sorted(self._models)

    def sweep(self, now: float | None = None) -> list[str]:
        """Unload sessions idle longer than the TTL; return their ids."""
        deadline = (now or time.monotonic()) - self._settings.session_idle_ttl_s
        with self._lock:
            idle = [mid for mid, m in self._models.items() if m.last_used < deadline]
            for model_id in idle:
                del self._models[model_id]
        for model_id in idle:
            logger.info("model.unloaded", model=model_id, reason="idle")
        return idle

    def clear(self) -> None:
        """Drop every session."""
        with self._lock:
            self._models.clear()

    def _evict_over_budget(self, keep: str) -> None:
        while len(self._models) > self._settings.max_loaded_sessions:
            oldest = min((m for k, m in self._models.items() if k != keep), key=_last_used)
            del self._models[oldest.spec.id]
            logger.info("model.unloaded", model=oldest.spec.id, reason="budget")

    def _load(self, model_id: str) -> LoadedModel:
        path = self._store.require(model_id)
        spec = self._store.spec(model_id)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only; ORT's warnings are not actionable here
        options.enable_cpu_mem_arena = uses_arena(self._settings, spec)
        # With the arena, buffers are reused run after run; one planned block per run (the
        # memory pattern) would only add a second, larger copy of the working set.
        options.enable_mem_pattern = not options.enable_cpu_mem_arena
        providers = [p for p in self._settings.providers if p in ort.get_available_providers()]
        start = time.perf_counter()
        try:
            source: str | bytes = (
                with_dynamic_spatial_dims(path)
                if spec.params.get("dynamic_spatial_dims")
                else str(path)
            )
            session = ort.InferenceSession(
                source, sess_options=options, providers=providers or ["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise ModelLoadError(
                f"Model {model_id!r} could not be loaded: {exc}", details={"model": model_id}
            ) from exc
        logger.info(
            "model.loaded",
            model=model_id,
            seconds=round(time.perf_counter() - start, 3),
            threads=self.threads,
            providers=session.get_providers(),
        )
        return LoadedModel(spec, session, self.stats, self._metrics)


def _last_used(model: LoadedModel) -> float:
    return model.last_used
