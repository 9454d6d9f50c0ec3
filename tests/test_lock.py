"""``requirements.lock`` is what the project's own commands install, and it agrees with pyproject.

``pyproject.toml`` keeps ranges (payql is also installed as a package by others); the lock pins
every package of the runtime and dev environments, the build backend and pip, with hashes. The
checks here are hermetic (no index is asked): every requirement of pyproject is pinned by the
lock at a version its range allows, the lock pins nothing as payql's own that pyproject no longer
asks for, the lock names no index, host or path, and the running environment is the lock.
"""

import json
import re
import tomllib
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

LOCK = ROOT / "requirements.lock"
FIX = "run `make lock` (or `make lock-upgrade`) and commit requirements.lock"
OWN = "payql (pyproject.toml)"

PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)(?: ; (?P<marker>[^\\]+?))? \\$"
)
HASH = re.compile(r"^    --hash=sha256:[0-9a-f]{64}(?: \\)?$")
COMMENT = re.compile(r"^ *#[^/]*$")


@dataclass
class Pin:
    version: str
    marker: Marker | None
    via: set[str] = field(default_factory=set)


def lock_entries(text: str) -> list[tuple[str, Pin]]:
    """Every pin in order; a package may appear once per Python-version marker."""
    entries: list[tuple[str, Pin]] = []
    for line in text.splitlines():
        if match := PIN.match(line):
            marker = match["marker"]
            pin = Pin(match["version"], Marker(marker) if marker else None)
            entries.append((canonicalize_name(match["name"]), pin))
        elif entries and (via := re.match(r"^    #(?: via|  ) (.+)$", line)):
            entries[-1][1].via.add(via[1].strip())
    return entries


def parse_lock(text: str) -> dict[str, Pin]:
    """The pin that applies here for each package (the first, if none applies)."""
    pins: dict[str, Pin] = {}
    for name, pin in lock_entries(text):
        if name not in pins or pin.marker is None or pin.marker.evaluate():
            pins[name] = pin
    return pins


def pyproject_requirements(pyproject: dict[str, object]) -> list[Requirement]:
    project = pyproject["project"]
    build = pyproject["build-system"]
    assert isinstance(project, dict)
    assert isinstance(build, dict)
    texts = [*project["dependencies"], *project["optional-dependencies"]["dev"], *build["requires"]]
    return [Requirement(text) for text in texts]


def disagreements(pyproject: dict[str, object], lock: dict[str, Pin]) -> list[str]:
    """What pyproject asks for that the lock lacks, and what the lock keeps that it dropped."""
    wanted = pyproject_requirements(pyproject)
    problems = []
    for requirement in wanted:
        pin = lock.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"{requirement} is in pyproject.toml but not in requirements.lock")
        elif not requirement.specifier.contains(pin.version, prereleases=True):
            problems.append(f"{requirement} is in pyproject.toml but the lock pins {pin.version}")
    names = {canonicalize_name(r.name) for r in wanted}
    for name, pin in sorted(lock.items()):
        if OWN in pin.via and name not in names:
            problems.append(
                f"requirements.lock pins {name} for payql, pyproject.toml no longer has it"
            )
    return problems


def extras_requirements(requirement: Requirement) -> list[Requirement]:
    """What the installed distribution asks for under the extras pyproject names."""
    needed = []
    for text in metadata.requires(requirement.name) or []:
        nested = Requirement(text)
        marker = nested.marker
        if (
            marker
            and any(marker.evaluate({"extra": e}) for e in requirement.extras)
            and not marker.evaluate({"extra": ""})
        ):
            needed.append(nested)
    return needed


@pytest.fixture(scope="module")
def lock_text() -> str:
    return LOCK.read_text()


@pytest.fixture(scope="module")
def pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_pyproject_and_the_lock_agree(pyproject: dict[str, object], lock_text: str) -> None:
    problems = disagreements(pyproject, parse_lock(lock_text))
    assert not problems, "\n".join([*problems, FIX])


def test_the_lock_covers_the_extras_pyproject_names(
    pyproject: dict[str, object], lock_text: str
) -> None:
    lock = parse_lock(lock_text)
    missing = [
        f"{nested} (for {requirement})"
        for requirement in pyproject_requirements(pyproject)
        if requirement.extras
        for nested in extras_requirements(requirement)
        if canonicalize_name(nested.name) not in lock
    ]
    assert not missing, "\n".join([*missing, FIX])


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (('"redis>=5,<9"', '"redis>=9"'), "redis>=9 is in pyproject.toml but the lock pins"),
        (
            ('"sniffio>=1.3",', '"sniffio>=1.3", "left-pad>=1",'),
            "left-pad>=1 is in pyproject.toml but not in requirements.lock",
        ),
        (('"babel>=2.14",', ""), "requirements.lock pins babel for payql"),
    ],
    ids=["range moved", "dependency added", "dependency dropped"],
)
def test_a_pyproject_change_without_make_lock_is_reported(
    change: tuple[str, str], complaint: str, lock_text: str
) -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert change[0] in text
    edited = tomllib.loads(text.replace(change[0], change[1]))
    problems = disagreements(edited, parse_lock(lock_text))
    assert len(problems) == 1
    assert problems[0].startswith(complaint)


def test_the_lock_names_no_index_host_or_path(lock_text: str) -> None:
    """Only pins, hashes and annotations: no --index-url, --find-links, URL or machine path."""
    strange = [
        line
        for line in lock_text.splitlines()
        if line and not (PIN.match(line) or HASH.match(line) or COMMENT.match(line))
    ]
    assert not strange, strange
    assert "://" not in lock_text
    assert not re.search(r"(^|\s)(-i|-f|--index-url|--extra-index-url|--find-links)\b", lock_text)
    assert not re.search(r"(/work|/home|/root|/tmp|/opt|/usr|[A-Z]:\\)", lock_text)


def test_every_lock_entry_has_hashes(lock_text: str) -> None:
    entries = re.split(r"\n(?=\S)", lock_text.split("\n", 2)[2])
    unhashed = [e.split()[0] for e in entries if PIN.match(e.splitlines()[0]) and "--hash" not in e]
    assert not unhashed


def test_the_environment_is_the_lock(lock_text: str) -> None:
    """make install installed exactly the pins (a different version here means it did not)."""
    wrong = []
    for name, pin in lock_entries(lock_text):
        if pin.marker is not None and not pin.marker.evaluate():
            continue
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "missing"
        if installed != pin.version:
            wrong.append(f"{name}: lock {pin.version}, installed {installed}")
    assert not wrong, "\n".join([*wrong, "run `make install` (it installs requirements.lock)"])


def _npm_settings(folder: Path) -> dict[str, str]:
    npmrc = folder / ".npmrc"
    lines = npmrc.read_text().splitlines() if npmrc.exists() else []
    return dict(line.split("=", 1) for line in lines if "=" in line)


def test_npm_keeps_registry_addresses_out_of_lock_files() -> None:
    """Node tooling pins exact versions, and package-lock.json records no registry address.

    npm reads a project's ``.npmrc`` from the folder of its ``package.json``, so each such
    folder carries one with the same two settings as the root's."""
    for folder in [ROOT, *(m.parent for m in _project_files("package.json"))]:
        settings = _npm_settings(folder)
        assert settings.get("omit-lockfile-registry-resolved") == "true", folder
        assert settings.get("save-exact") == "true", folder
    for manifest in _project_files("package.json"):
        text = manifest.read_text()
        ranges = re.findall(r'"[^"]+":\s*"([\^~><=*][^"]*|latest)"', text)
        assert not ranges, f"{manifest}: pin exact versions, not {ranges}"
    for lockfile in _project_files("package-lock.json"):
        packages = json.loads(lockfile.read_text()).get("packages", {})
        resolved = [name for name, entry in packages.items() if "resolved" in entry]
        assert not resolved, f"{lockfile} records where {resolved[:3]} were downloaded from"
        assert "registry" not in lockfile.read_text(), f"{lockfile} names a registry"


def _project_files(name: str) -> list[Path]:
    return [p for p in ROOT.rglob(name) if "node_modules" not in p.parts and ".venv" not in p.parts]
