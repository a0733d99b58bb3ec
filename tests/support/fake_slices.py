"""Fake slices for registry tests, exposed as entry points without installing anything."""

import sys
import types
from importlib.metadata import EntryPoint

from litestar import Router, get
from msgspec import Struct

from center_api.registry.spec import ENTRY_POINT_GROUP, Capabilities, ModelRequirement, Slice

MODULE = "center_api_fake_slices"


class EchoOptions(Struct, forbid_unknown_fields=True):
    text: str = "hi"


class EchoSlice(Slice):
    name = "echo"
    title = "Echo"
    path = "/echo"
    options_type = EchoOptions
    capabilities = Capabilities(produces=("json",), accepts_image=False)

    def build_router(self) -> Router:
        @get("/")
        async def echo() -> dict[str, str]:
            return {"echo": "hi"}

        @get("/boom")
        async def boom() -> None:
            raise RuntimeError("secret internal detail")

        return Router(path=self.path, route_handlers=[echo, boom])

    async def run(self, container, image, options):
        raise NotImplementedError


def make_slice(name: str, **attrs) -> Slice:
    cls = type(f"{name.title()}Slice", (EchoSlice,), {"name": name, "path": f"/{name}", **attrs})
    return cls()


def install_module(monkeypatch, **objects) -> None:
    """Put a module named MODULE holding ``objects`` into sys.modules."""
    module = types.ModuleType(MODULE)
    for key, value in objects.items():
        setattr(module, key, value)
    monkeypatch.setitem(sys.modules, MODULE, module)


def entry_point(name: str, attr: str, module: str = MODULE) -> EntryPoint:
    return EntryPoint(name=name, value=f"{module}:{attr}", group=ENTRY_POINT_GROUP)


def needs_model(model_id: str):
    return (ModelRequirement(id=model_id),)
