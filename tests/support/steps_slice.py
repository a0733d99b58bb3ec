"""A slice that works in steps behind a gate the test opens: to watch, pause and resume tasks."""

import asyncio
import json
import threading

from msgspec import Struct

from center_api import sdk
from tests.support.fake_slices import entry_point, install_module

NAME = "steps"


class StepsOptions(Struct, forbid_unknown_fields=True):
    steps: int = 3
    checkpoints: bool = True


class Gate:
    """How many steps may run in all (the test raises it); which steps ran, in order."""

    def __init__(self) -> None:
        self.allowed = 0
        self.ran: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    def allow(self, steps: int) -> None:
        with self._lock:
            self.allowed = steps

    async def step(self, task_id: str, index: int) -> None:
        while True:
            with self._lock:
                if len(self.ran) < self.allowed:
                    self.ran.append((task_id, index))
                    return
            await asyncio.sleep(0.01)


GATE = Gate()


class StepsSlice(sdk.Slice):
    name = NAME
    title = "Steps"
    path = "/steps"
    options_type = StepsOptions
    capabilities = sdk.Capabilities(produces=("json",))

    def build_router(self) -> sdk.Router:
        return sdk.Router(path=self.path, route_handlers=[])

    async def run(self, container, image, options):
        progress = sdk.current_progress()
        done = list((progress.resume_state or {}).get("done", []))
        for index in range(progress.resume_position, options.steps):
            await progress.report(index / options.steps, f"step {index + 1}/{options.steps}")
            await GATE.step(progress.task_id or "", index)
            done.append(index)
            if options.checkpoints:
                await progress.checkpoint(index + 1, {"done": done})
        await progress.report(1.0, "done")
        return sdk.SliceResult(content=json.dumps(done).encode(), media_type="application/json")


def steps_settings(make_settings, tmp_path, **extra):
    """Test settings with the steps slice on, one task worker and no rate limits."""
    return make_settings(
        tasks={"results_dir": str(tmp_path / "results"), "workers": 1},
        slices={NAME: {"enabled": True}},
        rate_limit={"enabled": False},
        **extra,
    )


def steps_app_args(monkeypatch) -> dict:
    """``create_app`` keyword arguments with only the steps slice installed (and a fresh gate)."""
    global GATE  # noqa: PLW0603 - one gate per test
    GATE = Gate()
    install_module(monkeypatch, steps=StepsSlice())
    return {"entry_points": lambda: [entry_point(NAME, "steps")]}


def gate() -> Gate:
    """The current test's gate."""
    return GATE
