"""Where settings come from: the environment, a ``.env`` file, names checked, values shown.

Order (later wins): defaults, ``litestar.toml``, ``.env`` in the working directory, the
environment. A variable is either ``CENTER_API__SECTION__KEY`` or one of the short names
(`SHORT_ENV_NAMES`: the original spec's and the design's); where both name the
same setting, the ``CENTER_API__`` one wins. An unknown ``CENTER_API__`` variable stops the
start with a message naming it, as an unknown key in the file does. ``center-api config show``
prints every value with its source, secrets masked (`flatten`, `masked`).
"""

import os
import re
import tomllib
import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import msgspec
from msgspec import Struct

ENV_PREFIX = "CENTER_API__"
CONFIG_FILE_ENV = "CENTER_API_CONFIG"
DEFAULT_CONFIG_FILE = "litestar.toml"
DOTENV_FILE = ".env"

# Short names (the original spec's, then the design's), mapped onto the settings tree.
SHORT_ENV_NAMES: dict[str, tuple[str, ...]] = {
    "HOST": ("server", "host"),
    "PORT": ("server", "port"),
    "WORKERS": ("server", "workers"),
    "DATABASE_URL": ("database", "url"),
    "MAX_CONCURRENT_INFERENCE": ("inference", "max_concurrent"),
    "THREAD_POOL_SIZE": ("inference", "thread_pool_size"),
    "QUEUE_MAX_SIZE": ("inference", "queue_max_size"),
    "LOG_LEVEL": ("logging", "level"),
    "MODEL_STORE_DIR": ("models", "dir"),
    "AUTH_MODE": ("auth", "mode"),
    "QUEUE_URL": ("queue", "url"),
    "STORAGE_URL": ("storage", "url"),
    # The design's names (where two name one setting, the later in this table wins).
    "API_HOST": ("server", "host"),
    "API_PORT": ("server", "port"),
    "MAX_WORKERS": ("tasks", "workers"),
    "TASK_TIMEOUT": ("tasks", "default_timeout_s"),
    "REDIS_URL": ("queue", "url"),
}
_SHORT_ORDER = {name: index for index, name in enumerate(SHORT_ENV_NAMES)}
_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
# Leaf names whose values are never shown.
_SECRET_NAME = re.compile(r"(secret|password|token|api_key|private)", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/:@]*:)(?P<password>[^@/]+)(?=@)")
MASK = "******"


class SettingsError(Exception):
    """A config value is missing, malformed or out of range; the message names the key."""


class SettingsSources(Struct, kw_only=True):
    """Where each overridden setting came from (``center-api config show``)."""

    config_file: str | None = None
    file_keys: set[tuple[str, ...]] = msgspec.field(default_factory=set)
    # path -> (variable name, ".env" or "environment")
    variables: dict[tuple[str, ...], tuple[str, str]] = msgspec.field(default_factory=dict)

    def of(self, path: tuple[str, ...]) -> str:
        """``environment NAME``, ``.env NAME``, the config file's name, or ``default``."""
        if path in self.variables:
            name, origin = self.variables[path]
            return f"{origin} {name}"
        return self.config_file if path in self.file_keys and self.config_file else "default"


class DotenvError(ValueError):
    """A ``.env`` line that is not ``NAME=value`` (the message names the file and line)."""


def read_dotenv(path: str | Path) -> dict[str, str]:
    r"""The variables of a ``.env`` file; {} when there is none.

    ``NAME=value`` lines (``export`` allowed), ``#`` comments and blank lines; a value in
    single quotes is taken as written, in double quotes with ``\\n``, ``\\"`` and ``\\\\``
    read as escapes; an unquoted value ends at `` #``.

    Raises:
        DotenvError: a line that is none of these.
    """
    file = Path(path)
    if not file.is_file():
        return {}
    found: dict[str, str] = {}
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise DotenvError(f"{file}:{number}: expected NAME=value")
        name, raw = match.groups()
        found[name] = _unquote(raw)
    return found


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1]
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        escapes = {"n": "\n", '"': '"', "\\": "\\", "t": "\t"}
        return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(0)), raw[1:-1])
    return raw.split(" #", 1)[0].rstrip()


def unknown_part(root: type, path: tuple[str, ...]) -> str | None:
    """The first part of ``path`` that names no setting under ``root`` (None: all known)."""
    node: Any = root
    for index, part in enumerate(path):
        node = _unwrap(node)
        if isinstance(node, type) and issubclass(node, msgspec.Struct):
            if part not in node.__struct_fields__:
                return ".".join(path[: index + 1])
            node = typing.get_type_hints(node)[part]
        elif typing.get_origin(node) is dict:
            node = typing.get_args(node)[1]  # any name: a slice, a pipeline
        else:
            return ".".join(path[: index + 1])  # below a plain value
    return None


def _unwrap(node: Any) -> Any:
    """``X | None`` and ``Annotated[X, ...]`` → X."""
    while True:
        origin = typing.get_origin(node)
        if origin is typing.Annotated:
            node = typing.get_args(node)[0]
        elif origin in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(node) if a is not type(None)]
            if len(options) != 1:
                return node
            node = options[0]
        else:
            return node


def flatten(value: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """``(path, leaf value)`` of a nested mapping (settings as builtins), depth first."""
    if isinstance(value, Mapping) and value:
        for key, child in value.items():
            yield from flatten(child, (*prefix, str(key)))
    else:
        yield prefix, value


def masked(path: tuple[str, ...], value: Any) -> Any:
    """``value`` fit to print: secrets hidden, passwords in URLs hidden."""
    if value in (None, "") or isinstance(value, bool | int | float):
        return value
    if path and _SECRET_NAME.search(path[-1]):
        return MASK
    if isinstance(value, str):
        return _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, value)
    if isinstance(value, list):
        return [masked(path, item) for item in value]
    return value


def gather(
    root: type,
    config_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    dotenv_file: str | Path | None = None,
) -> tuple[dict[str, Any], SettingsSources]:
    """The raw settings tree (file, then ``.env``, then the environment) and its sources.

    ``root`` is the settings type, against which ``CENTER_API__`` names are checked.

    Raises:
        SettingsError: unreadable TOML or ``.env``, or an unknown ``CENTER_API__`` variable.
    """
    env = os.environ if environ is None else environ
    dotenv_path = dotenv_file or (DOTENV_FILE if environ is None else None)
    try:
        dotenv = read_dotenv(dotenv_path) if dotenv_path else {}
    except (DotenvError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{dotenv_path} is not a valid .env file: {exc}") from exc
    path, data = _read_file(config_file, {**dotenv, **env})
    sources = SettingsSources(
        config_file=str(path) if data else None, file_keys={p for p, _ in flatten(data)}
    )
    for origin, variables in ((".env", dotenv), ("environment", env)):
        for name in sorted(variables, key=_variable_rank):  # CENTER_API__ names win
            key = _env_path(name)
            if key is None:
                continue
            unknown = unknown_part(root, key) if name.startswith(ENV_PREFIX) else None
            if unknown is not None:
                raise SettingsError(
                    f"unknown setting variable {name} (from {origin}): there is no setting "
                    f"{unknown!r}; see .env.example for the known names"
                )
            _set_path(data, key, variables[name])
            sources.variables[key] = (name, origin)
    return data, sources


def _variable_rank(name: str) -> tuple[int, int]:
    return (name.startswith(ENV_PREFIX), _SHORT_ORDER.get(name, 0))


def _read_file(
    config_file: str | Path | None, env: Mapping[str, str]
) -> tuple[Path, dict[str, Any]]:
    explicit = config_file or env.get(CONFIG_FILE_ENV)
    path = Path(explicit or DEFAULT_CONFIG_FILE)
    if not path.is_file():
        if explicit:
            raise SettingsError(f"config file {path} does not exist")
        return path, {}
    try:
        return path, tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"config file {path} is not valid TOML: {exc}") from exc


def _env_path(name: str) -> tuple[str, ...] | None:
    if name in SHORT_ENV_NAMES:
        return SHORT_ENV_NAMES[name]
    if name.startswith(ENV_PREFIX):
        parts = tuple(p.lower() for p in name[len(ENV_PREFIX) :].split("__") if p)
        return parts or None
    return None


def key_parts(key: str) -> list[str]:
    """``a.b[0].c`` -> ``[a, b, 0, c]`` (a key as msgspec names it in an error)."""
    return [p for p in key.replace("[", ".").replace("]", "").split(".") if p]


def _set_path(data: dict[str, Any], path: tuple[str, ...], value: str) -> None:
    node = data
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise SettingsError(f"setting {'.'.join(path)} cannot override a non-table value")
        node = child
    node[path[-1]] = _parse_env_value(value)


def _parse_env_value(value: str) -> Any:
    """Read lists as JSON (``["a","b"]``); other values stay strings for the lax conversion."""
    stripped = value.strip()
    if stripped.startswith("["):
        try:
            return msgspec.json.decode(stripped)
        except msgspec.DecodeError as exc:
            raise SettingsError(f"environment value {value!r} is not a JSON list") from exc
    if stripped.lower() in {"null", "none", ""}:
        return None
    return stripped
