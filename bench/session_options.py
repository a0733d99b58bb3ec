"""ONNX Runtime session options for u2netp, by measurement: slots x threads, arena, graph level.

``python bench/session_options.py [--seconds 20]``

Each configuration keeps ``slots`` threads busy calling ``session.run`` (one shared session, as
the kernel shares it) for a fixed time and reports inferences per second, so configurations
are compared as ratios within one run. Each configuration runs in a process of its own, so
the RSS printed (after the run) is that configuration's alone; page faults per inference show
what the arena saves (fresh memory is mapped and zeroed run after run without it).
"""

import argparse
import multiprocessing
import os
import resource
import threading
import time
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort
from _harness import REPO

from center_api.testing.cluster import rss_mb


@dataclass(frozen=True)
class Config:
    """One way to run the model."""

    slots: int
    threads: int
    arena: bool = False
    level: str = "all"
    pattern: bool = True  # ORT's memory pattern (one planned block per run)

    def label(self) -> str:
        return (
            f"{self.slots} slot(s) x {self.threads} thread(s), arena "
            f"{'on' if self.arena else 'off'}{'' if self.pattern else ', no pattern'}, "
            f"graph {self.level}"
        )


LEVELS = {
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


def throughput(config: Config, seconds: float) -> tuple[float, float, float, float]:
    """Inferences per second with ``config.slots`` threads calling one session, the CPU
    seconds each took (all threads: what a dedicated machine pays, whatever else runs here),
    the minor page faults per inference and the RSS (MB) at the end.
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = config.threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = LEVELS[config.level]
    options.enable_cpu_mem_arena = config.arena
    options.enable_mem_pattern = config.pattern
    session = ort.InferenceSession(
        str(REPO / "model_store/u2netp.onnx"), options, providers=["CPUExecutionProvider"]
    )
    name = session.get_inputs()[0].name
    feed = {name: np.random.default_rng(0).random((1, 3, 320, 320), np.float32)}
    session.run(None, feed)
    counts = [0] * config.slots
    deadline = time.monotonic() + seconds

    def work(index: int) -> None:
        while time.monotonic() < deadline:
            session.run(None, feed)
            counts[index] += 1

    workers = [threading.Thread(target=work, args=(i,)) for i in range(config.slots)]
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start, cpu = time.monotonic(), time.process_time()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    runs = max(1, sum(counts))
    faulted = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / runs
    rate, each = sum(counts) / (time.monotonic() - start), (time.process_time() - cpu) / runs
    return rate, each, faulted, rss_mb(os.getpid())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    configs = [
        Config(cores, 1),  # the default: slots = cores, one thread each
        Config(1, cores),
        Config(max(1, cores // 2), 2),
        Config(cores, 1, arena=True),
        Config(cores, 1, arena=True, pattern=False),  # cpu_mem_arena = "auto" for u2netp
        Config(cores, 1, pattern=False),
        Config(cores, 1, level="extended"),
        Config(cores, 1, level="basic"),
    ]
    print(f"u2netp at 320x320 on {cores} cores, {args.seconds:g} s per configuration")
    base = None
    spawn = multiprocessing.get_context("spawn")
    for config in dict.fromkeys(configs):
        with spawn.Pool(1) as pool:  # a fresh process: its RSS is this configuration's
            rate, cpu, faults, rss = pool.apply(throughput, (config, args.seconds))
        base = base or cpu
        print(
            f"  {config.label():66} {rate:6.2f}/s  {cpu:5.2f} CPU s each  x{base / cpu:.2f}"
            f"  {faults:7.0f} faults/run  RSS {rss:.0f} MB",
            flush=True,
        )


if __name__ == "__main__":
    main()
