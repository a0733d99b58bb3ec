"""Slice discovery: entry points (built-ins too), validation, config toggles, fail-soft."""

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Literal

import msgspec
from msgspec import Struct

from center_api.core.logging import get_logger
from center_api.core.settings import Settings
from center_api.kernel.model_store import ModelSpec, ModelStore, pull_command
from center_api.registry.spec import API_VERSION, ENTRY_POINT_GROUP, Slice, defines_run

# Listed in code too, so a source checkout without installed metadata still finds them.
BUILTIN_SLICES: dict[str, str] = {
    "cutout": "center_api.slices.cutout:SLICE",
    "tools": "center_api.slices.tools:SLICE",
    "background_replace": "center_api.slices.background_replace:SLICE",
    "face_enhance": "center_api.slices.face_enhance:SLICE",
    "process": "center_api.slices.process:SLICE",
}
BUILTIN_DISTRIBUTION = "center-api"

SliceStatus = Literal["enabled", "disabled", "failed"]
EntryPointSource = Callable[[], Iterable[EntryPoint]]

logger = get_logger("center_api.registry")


class RegistryError(Exception):
    """Strict mode: a slice failed to load, validate, or find its models."""


@dataclass
class SliceEntry:
    """One installed slice as the registry sees it."""

    name: str
    target: str
    distribution: str | None
    version: str | None
    is_builtin: bool
    is_enabled: bool
    slice: Slice | None = None
    error: str | None = None
    missing_models: list[str] = field(default_factory=list)

    def status(self, store: ModelStore) -> tuple[SliceStatus, str | None]:
        """Current status with its reason; model presence is checked live."""
        if self.error is not None:
            return "failed", self.error
        if not self.is_enabled:
            return "disabled", "switched off in config"
        missing = missing_required_models(self, store)
        if missing:
            pulls = "; ".join(pull_command(m) for m in missing)
            return "failed", f"required model(s) not installed: {', '.join(missing)} ({pulls})"
        return "enabled", None

    @property
    def is_mounted(self) -> bool:
        """Enabled and loaded: its router and providers are part of the app."""
        return self.is_enabled and self.slice is not None and self.error is None


class SliceRegistry:
    """Every discovered slice, in a deterministic order (by name)."""

    def __init__(self, entries: list[SliceEntry]) -> None:
        self.entries = sorted(entries, key=lambda e: (e.name, e.distribution or ""))

    def get(self, name: str) -> SliceEntry | None:
        """The first entry with ``name`` (the one that owns it)."""
        return next((e for e in self.entries if e.name == name and e.error is None), None) or next(
            (e for e in self.entries if e.name == name), None
        )

    def mounted(self) -> list[Slice]:
        """Slices whose routes and providers are active."""
        return [e.slice for e in self.entries if e.is_mounted and e.slice is not None]

    def switched_off(self) -> list[Slice]:
        """Loaded slices that config disabled (their paths answer FEATURE_DISABLED)."""
        return [
            e.slice
            for e in self.entries
            if not e.is_enabled and e.slice is not None and e.error is None
        ]

    def check_strict(self, store: ModelStore) -> None:
        """Raise `RegistryError` if any enabled (or broken) slice is not healthy."""
        problems = []
        for entry in self.entries:
            status, reason = entry.status(store)
            if status == "failed":
                problems.append(f"{entry.name}: {reason}")
        if problems:
            raise RegistryError("slices failed: " + " | ".join(problems))


def discover_slices(
    settings: Settings, store: ModelStore, source: EntryPointSource | None = None
) -> SliceRegistry:
    """Find, load and validate every installed slice; never raises unless strict."""
    points = list((source or _installed_entry_points)())
    builtin_targets = set(BUILTIN_SLICES.values())
    seen_targets = {ep.value for ep in points}
    points += [
        EntryPoint(name=name, value=target, group=ENTRY_POINT_GROUP)
        for name, target in BUILTIN_SLICES.items()
        if target not in seen_targets
    ]
    # Built-ins first so they own their names; then third-party in a stable order.
    points.sort(key=lambda ep: (ep.value not in builtin_targets, ep.name, ep.value))
    entries: list[SliceEntry] = []
    owners: dict[str, SliceEntry] = {}
    for point in points:
        entry = _load_entry(point, point.value in builtin_targets, settings)
        owner = owners.get(entry.name)
        if owner is not None and entry.error is None:
            entry.error = (
                f"duplicate slice name {entry.name!r}: already provided by "
                f"{owner.distribution or owner.target}"
            )
            entry.slice = None
        elif entry.error is None:
            owners[entry.name] = entry
        if entry.error:
            logger.warning("slice.failed", slice=entry.name, reason=entry.error)
        entries.append(entry)
    registry = SliceRegistry(entries)
    add_slice_models(registry, store)
    if settings.registry.strict:
        registry.check_strict(store)
    return registry


def missing_required_models(entry: SliceEntry, store: ModelStore) -> list[str]:
    """Required models of ``entry`` that are not installed (unknown ids count as missing)."""
    if entry.slice is None:
        return []
    known = set(store.ids())
    return [
        req.id
        for req in entry.slice.models
        if req.required and (req.id not in known or not store.is_installed(req.id))
    ]


def _installed_entry_points() -> Iterable[EntryPoint]:
    return entry_points(group=ENTRY_POINT_GROUP)


def _load_entry(point: EntryPoint, is_builtin: bool, settings: Settings) -> SliceEntry:
    dist = getattr(point, "dist", None)
    toggle = settings.slices.get(point.name)
    enabled = toggle.enabled if toggle and toggle.enabled is not None else is_builtin
    entry = SliceEntry(
        name=point.name,
        target=point.value,
        distribution=dist.name if dist else (BUILTIN_DISTRIBUTION if is_builtin else None),
        version=dist.version if dist else None,
        is_builtin=is_builtin,
        is_enabled=enabled,
    )
    if not is_builtin and settings.registry.builtins_only:
        entry.is_enabled = False
        return entry
    try:
        loaded = _import_target(point.value)
    except Exception as exc:
        entry.error = f"import failed: {type(exc).__name__}: {exc}"
        return entry
    entry.error = validate_slice(loaded, point.name)
    if entry.error is None and isinstance(loaded, Slice):
        entry.slice = loaded
        entry.version = entry.version or _builtin_version()
    return entry


def _import_target(target: str) -> object:
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    obj: object = module
    for part in attr.split(".") if attr else []:
        obj = getattr(obj, part)
    return obj


def validate_slice(obj: object, name: str) -> str | None:
    """Return why ``obj`` is not a valid slice named ``name``, or None if it is."""
    if not isinstance(obj, Slice):
        return f"entry point does not name a Slice instance (got {type(obj).__name__})"
    problems = []
    if obj.name != name:
        problems.append(f"slice name {obj.name!r} differs from its entry point name {name!r}")
    version_problem = api_version_problem(getattr(obj, "api_version", ""))
    if version_problem:
        problems.append(version_problem)
    path = getattr(obj, "path", "")
    if not isinstance(path, str) or not path.startswith("/") or path == "/":
        problems.append("path must be a URL prefix such as '/my-slice'")
    options = getattr(obj, "options_type", None)
    if not (isinstance(options, type) and issubclass(options, Struct)):
        problems.append("options_type must be a msgspec Struct")
    for attr in ("title", "capabilities"):
        if not hasattr(obj, attr):
            problems.append(f"missing {attr}")
    if run_needed(obj) and not defines_run(obj):
        problems.append("a slice that takes images or runs as a task must define run()")
    specs = getattr(obj, "model_specs", ())
    if not isinstance(specs, tuple | list) or not all(isinstance(s, ModelSpec) for s in specs):
        problems.append("model_specs must be a tuple of ModelSpec")
    return "; ".join(problems) or None


def run_needed(spec: Slice) -> bool:
    """Whether ``spec`` must define ``run()``: it takes images or runs as a task."""
    capabilities = getattr(spec, "capabilities", None)
    return capabilities is not None and (capabilities.accepts_image or capabilities.supports_tasks)


def api_version_problem(version: object) -> str | None:
    """Why a slice built for registry API ``version`` cannot load here, or None if it can.

    Same major and a minor no newer than the server's: minor versions only add to the contract.
    """
    server_major, server_minor = _parse_version(API_VERSION) or (0, 0)
    parsed = _parse_version(version)
    if parsed is None:
        return f"api_version {version!r} is not 'MAJOR.MINOR' (this server speaks {API_VERSION!r})"
    major, minor = parsed
    if major != server_major or minor > server_minor:
        return (
            f"incompatible registry API: built for registry API {version!r}; this server speaks "
            f"{API_VERSION!r} and loads slices built for {server_major}.0 to {API_VERSION}; "
            "install a release of the plugin made for this server"
        )
    return None


def _parse_version(version: object) -> tuple[int, int] | None:
    parts = str(version).split(".")
    if len(parts) != 2 or not all(part.isdigit() for part in parts):
        return None
    return int(parts[0]), int(parts[1])


def add_slice_models(registry: SliceRegistry, store: ModelStore) -> None:
    """Add the ``model_specs`` of every loaded slice (enabled or not) to ``store``.

    Switched-off slices count too, so an admin can pull a plugin's weights before enabling it.
    A spec whose id the manifest already has is ignored (the manifest wins) with a warning.
    """
    known = set(store.ids())
    for entry in registry.entries:
        if entry.slice is None or entry.error is not None:
            continue
        for spec in entry.slice.model_specs:
            if spec.id in known:
                logger.warning("slice.model_ignored", slice=entry.name, model=spec.id)
        store.add(entry.slice.model_specs)
        known.update(spec.id for spec in entry.slice.model_specs)


def store_with_slice_models(
    settings: Settings, source: EntryPointSource | None = None
) -> ModelStore:
    """The model store of ``settings`` plus the models installed slices declare (for the CLI)."""
    store = ModelStore.from_directory(Path(settings.models.dir))
    lenient = msgspec.structs.replace(
        settings, registry=msgspec.structs.replace(settings.registry, strict=False)
    )
    discover_slices(lenient, store, source)
    return store


def _builtin_version() -> str | None:
    try:
        from importlib.metadata import version  # noqa: PLC0415 - only on the fallback path

        return version(BUILTIN_DISTRIBUTION)
    except Exception:
        return None
