"""Hearing of SIGTERM / SIGINT before the HTTP server acts on it.

On a signal uvicorn stops accepting connections, then waits for the open ones to end before it
runs the app's shutdown hooks. A task's event stream does not end by itself, so the task
service has to learn of the signal first and end its streams. The handler installed here tells
the event loop, then hands the signal on to the handler it replaced (uvicorn's), unchanged.
"""

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopSignals:
    """Calls ``callback`` in the running loop when the process is asked to stop."""

    def __init__(self, callback: Callable[[], None]) -> None:
        """Nothing is installed until `install`."""
        self._callback = callback
        self._previous: dict[int, Any] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def install(self) -> bool:
        """Chain in front of the current handlers; False (nothing done) off the main thread.

        Only the main thread may set signal handlers; an app run by a test client lives in
        another thread and is stopped by its lifespan, not by signals.
        """
        if threading.current_thread() is not threading.main_thread():
            return False
        self._loop = asyncio.get_running_loop()
        for signum in SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return True

    def uninstall(self) -> None:
        """Put back the handlers this replaced (where this one is still installed)."""
        for signum, previous in self._previous.items():
            if signal.getsignal(signum) == self._handle:
                signal.signal(signum, previous)
        self._previous = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._callback)
        previous = self._previous.get(signum)
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:  # nobody else handles it: what the default would do
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)
