"""The architecture, checked by reading the source (nothing here imports the modules it checks).

Layers, bottom to top; imports only point down, and a package may always import itself:

    core → db, kernel → registry, usage, auth → cache → http → sdk → slices/*, plugins/* → tasks,
    compat, web → bootstrap

Built-in slices and plugins import ``center_api.sdk`` only (the tools slice may also read
``registry`` and ``usage``). ``testing`` is the kit for plugin authors: it may import anything,
and nothing in the server imports it.
"""

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "src"
PACKAGE = SOURCE / "center_api"
PLUGIN_SOURCES = sorted((ROOT / "plugins").glob("*/src"))
MAX_MODULE_LINES = 400

LAYERS: list[tuple[str, ...]] = [
    ("core", "client"),
    ("db", "kernel"),
    ("registry", "usage", "auth"),
    ("cache",),
    ("http",),
    ("sdk",),
    ("slices", "plugins"),
    ("tasks", "compat", "web"),
    ("bootstrap",),
]
TIER = {package: tier for tier, packages in enumerate(LAYERS) for package in packages}
# What a built-in slice may import besides the SDK and its own package.
SLICE_EXTRAS = {"slices.tools": {"registry", "usage"}}
# SDK modules with a single user that stay anyway: published in SDK 1.1, plugins may use them.
PUBLISHED_SINGLE_USE = {"sdk.vision.compositing"}


def modules(source: Path) -> Iterator[tuple[str, Path]]:
    """``(dotted name, path)`` of every module below ``source``."""
    for path in sorted(source.rglob("*.py")):
        if "egg-info" in str(path):
            continue
        parts = list(path.relative_to(source).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def imported(name: str, path: Path) -> Iterator[str]:
    """Every module ``name`` imports, at any depth (function-level imports too)."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = name.split(".")[: len(name.split(".")) - node.level + is_package]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def unit_of(module: str) -> str | None:
    """The layer unit a ``center_api`` module belongs to (``slices.<name>`` per slice)."""
    parts = module.split(".")
    if parts[0] != "center_api":
        return None
    if len(parts) == 1 or not (PACKAGE / parts[1]).is_dir():
        return "bootstrap" if parts[1:2] == ["__main__"] else "root"  # the version, __main__
    if parts[1] == "slices":
        return f"slices.{parts[2]}" if len(parts) > 2 else "slices"
    return parts[1]


def layer_of(unit: str) -> str:
    return unit.split(".", maxsplit=1)[0]


def package_edges() -> dict[str, set[str]]:
    """Unit → the units it imports (``center_api`` only, self-imports left out)."""
    edges: dict[str, set[str]] = defaultdict(set)
    for name, path in modules(SOURCE):
        source = unit_of(name)
        for target in filter(None, map(unit_of, imported(name, path))):
            if source is not None and target != source:
                edges[source].add(target)
    for plugin in PLUGIN_SOURCES:
        for name, path in modules(plugin):
            for target in filter(None, map(unit_of, imported(name, path))):
                edges[f"plugins.{name.split('.')[0]}"].add(target)
    return edges


EDGES = package_edges()


def test_core_imports_nothing_else_of_center_api():
    assert EDGES.get("core", set()) <= {"core"}, sorted(EDGES["core"])


def test_layers_only_point_down():
    wrong = []
    for source, targets in EDGES.items():
        if layer_of(source) == "testing":
            continue
        for target in targets:
            if target == "root":
                continue  # center_api/__init__.py: the version, importing nothing
            if target == "testing" or TIER[layer_of(target)] >= TIER[layer_of(source)]:
                wrong.append(f"{source} → {target}")
    assert not wrong, "imports against the layers: " + ", ".join(sorted(wrong))


def test_slices_and_plugins_import_the_sdk_only():
    wrong = []
    for source, targets in EDGES.items():
        if layer_of(source) not in ("slices", "plugins"):
            continue
        allowed = {"sdk", "root"} | SLICE_EXTRAS.get(source, set())
        wrong += [f"{source} → {t}" for t in sorted(targets - allowed)]
    assert not wrong, "slices and plugins may import center_api.sdk only: " + ", ".join(wrong)


def test_there_are_no_import_cycles_between_packages():
    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        for target in sorted(EDGES.get(node, ())):
            cycle = visit(target, [*path, node])
            if cycle:
                return cycle
        return None

    for start in sorted(EDGES):
        cycle = visit(start, [])
        assert cycle is None, "import cycle: " + " → ".join(cycle or [])


def test_no_module_is_over_the_size_limit():
    sources = [SOURCE, *PLUGIN_SOURCES]
    sizes = {p: len(p.read_text().splitlines()) for s in sources for _, p in modules(s)}
    over = {str(p.relative_to(ROOT)): n for p, n in sizes.items() if n > MAX_MODULE_LINES}
    assert not over, f"modules over {MAX_MODULE_LINES} lines: {over}"


@pytest.mark.parametrize(
    "init", sorted(PACKAGE.rglob("__init__.py")), ids=lambda p: str(p.relative_to(SOURCE))
)
def test_every_package_says_what_it_owns_and_may_import(init):
    doc = ast.get_docstring(ast.parse(init.read_text())) or ""
    if init.parent == PACKAGE:
        assert doc, "center_api/__init__.py needs a docstring"
        return
    assert doc, f"{init} has no docstring"
    assert "may import" in doc.lower() or "part of" in doc.lower(), (
        f"{init}'s docstring does not say what the package may import"
    )


def sdk_name_owners() -> dict[str, str]:
    """Names the SDK re-exports (``sdk.X``, ``sdk.vision.X``) → the SDK module defining them."""
    owners = {}
    for facade in (PACKAGE / "sdk" / "__init__.py", PACKAGE / "sdk" / "vision" / "__init__.py"):
        for node in ast.parse(facade.read_text()).body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "center_api.sdk."
            ):
                owners.update({a.name: node.module.removeprefix("center_api.") for a in node.names})
    return owners


SDK_MODULES = {
    name.removeprefix("center_api.")
    for name, path in modules(SOURCE)
    if name.startswith("center_api.sdk.") and path.name != "__init__.py"
}


def sdk_users() -> dict[str, set[str]]:
    """SDK module → the slices and plugins (and other SDK modules) that use it."""
    owners = sdk_name_owners()
    users: dict[str, set[str]] = defaultdict(set)
    sources = [(SOURCE, None), *((plugin, "plugins") for plugin in PLUGIN_SOURCES)]
    for source, prefix in sources:
        for name, path in modules(source):
            unit = f"{prefix}.{name.split('.')[0]}" if prefix else unit_of(name)
            if unit is None or layer_of(unit) not in ("slices", "plugins", "sdk"):
                continue
            user = name.removeprefix("center_api.") if layer_of(unit) == "sdk" else unit
            for used in sdk_modules_used(name, path, owners):
                if used != user:
                    users[used].add(user)
    return users


def sdk_modules_used(name: str, path: Path, owners: dict[str, str]) -> Iterator[str]:
    for target in imported(name, path):
        module = target.removeprefix("center_api.")
        if module in SDK_MODULES:
            yield module
        elif module.rpartition(".")[2] in owners and module.startswith("sdk"):
            yield owners[module.rpartition(".")[2]]
    for node in ast.walk(ast.parse(path.read_text())):
        holder = node.value if isinstance(node, ast.Attribute) else None
        is_vision = (isinstance(holder, ast.Name) and holder.id == "vision") or (
            isinstance(holder, ast.Attribute) and holder.attr == "vision"
        )
        is_sdk = isinstance(holder, ast.Name) and holder.id == "sdk"
        if isinstance(node, ast.Attribute) and (is_vision or is_sdk) and node.attr in owners:
            yield owners[node.attr]


def test_sdk_modules_serve_more_than_one_slice():
    """A module under sdk/ is used by two or more slices or plugins (through other SDK modules
    too); code one slice uses lives in that slice."""
    users = sdk_users()
    reach: dict[str, set[str]] = {module: set() for module in SDK_MODULES}
    changed = True
    while changed:  # a module reaches the slices of every SDK module that uses it
        changed = False
        for module, known in reach.items():
            found = {u for u in users.get(module, ()) if not u.startswith("sdk")}
            for user in users.get(module, ()):
                found |= reach.get(user, set())
            if found - known:
                known.update(found)
                changed = True
    lonely = {
        m: sorted(r) for m, r in reach.items() if len(r) < 2 and m not in PUBLISHED_SINGLE_USE
    }
    assert not lonely, f"SDK modules with fewer than two users (move them into the slice): {lonely}"
