"""How much resident memory a process adds while a block of code runs.

For memory tests and benchmarks against a real server process::

    from center_api.testing.memory import rss_growth

    with rss_growth(server_pid) as rss:
        httpx.post(url, files=...)
    assert rss.growth_mb < 1024

A thread reads the process's RSS every ``interval_s`` (20 ms by default) while the block runs;
the growth is the peak minus the RSS just before the block. Short spikes between two samples can
be missed, so compare against budgets with some headroom, never exact figures.
"""

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from center_api.testing.cluster import rss_mb


class RssSampler:
    """Samples a process's resident memory in a background thread.

    Attributes:
        pid: the process watched.
        baseline_mb: its RSS when sampling started.
        peak_mb: the highest RSS seen so far (at least the baseline).
    """

    def __init__(self, pid: int, interval_s: float = 0.02) -> None:
        self.pid = pid
        self.baseline_mb = rss_mb(pid)
        self.peak_mb = self.baseline_mb
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)

    @property
    def growth_mb(self) -> float:
        """Peak RSS over the baseline, in MB (never negative)."""
        return max(0.0, self.peak_mb - self.baseline_mb)

    def start(self) -> None:
        """Start sampling."""
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling (one last sample is taken) and wait for the thread."""
        self._stop.set()
        self._thread.join()
        self._record()

    def _sample(self) -> None:
        while not self._stop.wait(self._interval_s):
            self._record()

    def _record(self) -> None:
        try:
            current = rss_mb(self.pid)
        except OSError:  # the process is gone: nothing more to see
            return
        if not math.isnan(current):
            self.peak_mb = max(self.peak_mb, current)


@contextmanager
def rss_growth(pid: int, interval_s: float = 0.02) -> Iterator[RssSampler]:
    """Sample the RSS of process ``pid`` while the block runs; yields the sampler.

    Read ``growth_mb`` (or ``peak_mb``/``baseline_mb``) after the block.

    Raises:
        OSError: the process does not exist when sampling starts.
    """
    sampler = RssSampler(pid, interval_s)
    sampler.start()
    try:
        yield sampler
    finally:
        sampler.stop()
