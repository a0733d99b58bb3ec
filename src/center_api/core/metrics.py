"""Prometheus metrics with bounded labels (route templates, tool names, model ids).

One registry per app, so several apps in one process (tests) never clash.
"""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """The metric families named in DESIGN.md §9."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_requests_total = Counter(
            "http_requests_total",
            "HTTP requests answered.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_request_duration_seconds = Histogram(
            "http_request_duration_seconds",
            "Time from request start to the last response byte.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.model_inference_duration_seconds = Histogram(
            "model_inference_duration_seconds",
            "ONNX Runtime session.run time per call.",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.model_inference_errors_total = Counter(
            "model_inference_errors_total",
            "ONNX Runtime calls that raised.",
            ["model"],
            registry=self.registry,
        )
        # The inference scheduler's slots (set by `kernel.scheduler`).
        self.inference_waiting = Gauge(
            "inference_queue_size",
            "CPU jobs waiting for an inference slot.",
            registry=self.registry,
        )
        self.inference_running = Gauge(
            "inference_active_jobs", "CPU jobs holding an inference slot.", registry=self.registry
        )
        # Tasks, counted in the database (set by `tasks.gauges`): the design's queue_size and
        # active_tasks count tasks, not slots.
        self.queue_size = Gauge(
            "queue_size", "Tasks waiting to run (PENDING).", registry=self.registry
        )
        self.active_tasks = Gauge(
            "active_tasks", "Tasks running (PROCESSING or PAUSING).", registry=self.registry
        )

    def render(self) -> bytes:
        """Return the text exposition of every metric."""
        return generate_latest(self.registry)
