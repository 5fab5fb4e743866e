"""The locks under requirements/ agree with the ranges they were resolved from: every declared dependency is pinned
within its range, every direct pin is still declared, every pin carries hashes, no index or host is written in,
and the pre-commit hooks run the ruff and mypy the lock pins. `bash requirements/refresh` fixes a failure here."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[3]
REQUIREMENTS = ROOT / "requirements"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCKED_EXTRAS = ("test", "serve")  # what requirements/test.lock holds besides the dependencies


@dataclass(frozen=True)
class Pin:
    name: str
    version: Version
    hashes: int
    via: tuple[str, ...]


def parse_lock(text: str) -> dict[str, Pin]:
    """pip-compile's output: `name==version \\` lines, `--hash=` lines, then `# via` comments."""
    pins: dict[str, Pin] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        head = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", block)
        if not head:
            continue
        via: list[str] = []
        if "# via" in block:
            first, *rest = block.split("# via", 1)[1].split("\n")
            via = [first.strip()] if first.strip() else []
            via += [m.group(1) for line in rest if (m := re.match(r"    #\s+(\S.*)$", line))]
        name = canonicalize_name(head.group(1))
        pins[name] = Pin(name, Version(head.group(2)), block.count("--hash=sha256:"), tuple(v.strip() for v in via))
    return pins


def read_in(path: Path) -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line]


def declared_test_env() -> list[Requirement]:
    project = PYPROJECT["project"]
    found = [Requirement(r) for r in project["dependencies"]]
    for extra in LOCKED_EXTRAS:
        found += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return found


def lock(name: str) -> dict[str, Pin]:
    return parse_lock((REQUIREMENTS / name).read_text())


LOCKS = {
    "test.lock": declared_test_env,
    "tools.lock": lambda: read_in(REQUIREMENTS / "tools.in"),
    "image.lock": lambda: read_in(REQUIREMENTS / "image.in"),
}


def range_problems(declared: list[Requirement], pins: dict[str, Pin]) -> list[str]:
    """Declared dependencies missing from the lock, or pinned outside their range."""
    problems = []
    for requirement in declared:
        pin = pins.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"{requirement}: declared, not locked")
        elif not requirement.specifier.contains(pin.version, prereleases=True):
            problems.append(f"{requirement}: locked at {pin.version}, outside the range")
    return problems


def stale_pins(declared: list[Requirement], pins: dict[str, Pin], source: str) -> list[str]:
    """Pins the lock holds as direct dependencies of `source` that `source` no longer declares."""
    names = {canonicalize_name(r.name) for r in declared}
    return sorted(pin.name for pin in pins.values() if source in pin.via and pin.name not in names)


@pytest.mark.parametrize("lock_name", LOCKS)
def test_every_declared_dependency_is_pinned_within_its_range(lock_name):
    assert range_problems(LOCKS[lock_name](), lock(lock_name)) == [], "run `bash requirements/refresh`"


def test_the_build_backend_is_pinned_within_its_range():
    pins = lock("test.lock")
    for requirement in map(Requirement, PYPROJECT["build-system"]["requires"]):
        pin = pins[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(pin.version), f"test.lock pins {pin.name}=={pin.version}"


SOURCES = {
    "test.lock": "mlopsctl (pyproject.toml)",
    "tools.lock": "-r requirements/tools.in",
    "image.lock": "-r requirements/image.in",
}


@pytest.mark.parametrize("lock_name", LOCKS)
def test_every_direct_pin_is_still_declared(lock_name):
    pins = lock(lock_name)
    assert any(SOURCES[lock_name] in pin.via for pin in pins.values()), "not pip-compile's format?"
    assert stale_pins(LOCKS[lock_name](), pins, SOURCES[lock_name]) == [], "run `bash requirements/refresh`"


def test_the_checks_catch_a_lock_that_disagrees_with_its_ranges():
    pins = {
        "typer": Pin("typer", Version("0.29.2"), 2, ("mlopsctl (pyproject.toml)",)),
        "aiohttp": Pin("aiohttp", Version("3.14.5"), 2, ("mlopsctl (pyproject.toml)", "kubernetes")),
        "click": Pin("click", Version("8.5.1"), 1, ("typer",)),
    }
    assert range_problems([Requirement("typer>=0.29")], pins) == []
    assert range_problems([Requirement("typer>=0.30")], pins) == ["typer>=0.30: locked at 0.29.2, outside the range"]
    assert range_problems([Requirement("typer<0.29")], pins) == ["typer<0.29: locked at 0.29.2, outside the range"]
    assert range_problems([Requirement("rich>=13")], pins) == ["rich>=13: declared, not locked"]
    assert range_problems([Requirement("Typer[all]>=0.29")], pins) == []  # names compare canonically
    # aiohttp left the dependencies but the lock still holds it as one of them; click is only a transitive pin.
    assert stale_pins([Requirement("typer")], pins, "mlopsctl (pyproject.toml)") == ["aiohttp"]


@pytest.mark.parametrize("lock_name", LOCKS)
def test_every_pin_has_hashes_and_no_index_or_path_is_written(lock_name):
    text = (REQUIREMENTS / lock_name).read_text()
    assert "autogenerated by pip-compile with Python 3.11" in text
    assert all(pin.hashes >= 1 for pin in parse_lock(text).values())
    for line in text.splitlines():
        assert not line.startswith(("--index-url", "--extra-index-url", "--find-links", "--trusted-host")), line
        assert "://" not in line and "/opt/" not in line, line


def test_the_image_ranges_equal_the_project_ranges():
    declared = {canonicalize_name(r.name): str(r.specifier) for r in declared_test_env()}
    for requirement in read_in(REQUIREMENTS / "image.in"):
        assert declared.get(canonicalize_name(requirement.name)) == str(requirement.specifier), requirement


def test_heavy_test_tools_stay_out_of_the_product_environment():
    pins = lock("test.lock")
    for tool in ("checkov", "zizmor", "schemathesis"):
        assert tool not in pins
        assert tool in lock("tools.lock")
    assert pins["urllib3"].version.major >= 2
    assert "aiohttp" not in {canonicalize_name(Requirement(r).name) for r in PYPROJECT["project"]["dependencies"]}


def test_pre_commit_runs_the_locked_ruff_and_mypy():
    hooks = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())["repos"]
    revs = {repo["repo"].rsplit("/", 1)[-1]: repo["rev"] for repo in hooks}
    pins = lock("test.lock")
    assert revs["ruff-pre-commit"] == f"v{pins['ruff'].version}"
    assert revs["mirrors-mypy"] == f"v{pins['mypy'].version}"


def test_the_lock_parser_reads_pip_compile_output():
    sample = (
        "#\n# header\n#\nfoo-bar==1.2.3 \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\n"
        "    # via\n    #   mlopsctl (pyproject.toml)\n    #   other\nbaz==2.0 \\\n    --hash=sha256:cc\n    # via foo-bar\n"
        "\n# The following packages are considered to be unsafe in a requirements file:\n"
    )
    pins = parse_lock(sample)
    assert pins["foo-bar"] == Pin("foo-bar", Version("1.2.3"), 2, ("mlopsctl (pyproject.toml)", "other"))
    assert pins["baz"] == Pin("baz", Version("2.0"), 1, ("foo-bar",))
