"""What gets installed: floors above versions with known security holes, and
the exact versions the tests ran with (constraints.txt), which ./dev uses."""

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
# The last release before each fix the floors in pyproject.toml stand for.
VULNERABLE = {
    "aiohttp": ["3.12.13", "3.13.2", "3.14.3"],  # smuggling, zip bombs, compressed members
    "requests": ["2.32.3", "2.32.5"],  # .netrc leak, extract_zipped_paths
    "urllib3": ["2.5.0", "2.6.2", "2.6.3"],  # decompression bombs, redirects
    "pytest": ["9.0.2"],  # /tmp/pytest-of-<user>
}


def requirements() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    listed = project["dependencies"] + project["optional-dependencies"]["dev"]
    return {canonicalize_name(r.name): r for r in map(Requirement, listed)}


def pins() -> dict[str, str]:
    found: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            found[canonicalize_name(name)] = version
    return found


def test_no_known_vulnerable_version_can_be_installed() -> None:
    needed = requirements()
    for name, versions in VULNERABLE.items():
        assert name in needed, f"{name} must be a declared dependency with a floor"
        for version in versions:
            assert not needed[name].specifier.contains(version), f"{name} {version} allowed"


def test_constraints_pin_every_installed_package_to_what_is_installed() -> None:
    pinned = pins()
    installed: dict[str, str] = {
        canonicalize_name(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()
    }
    installed.pop("infolinia")
    for tool in ("pip", "setuptools", "wheel"):  # the venv's own, not pip freeze's business
        installed.pop(tool, None)
    assert pinned == installed, "after installing or upgrading a package: ./dev lock"
    for name, requirement in requirements().items():
        assert requirement.specifier.contains(pinned[name]), f"{name}=={pinned[name]}"


def test_dev_installs_from_the_constraints_and_reinstalls_when_they_change() -> None:
    dev = (ROOT / "dev").read_text()
    assert "pip install --quiet --progress-bar off -c constraints.txt -e '.[dev]'" in dev
    [stamp] = re.findall(r"want=\$\((.*)\)", dev)
    assert "constraints.txt" in stamp and "pyproject.toml" in stamp
