"""The version is written once, in pyproject.toml: the package and
``infolinia --version`` read it from the installed metadata."""

import importlib.metadata
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import stasis_app

pytestmark = pytest.mark.unit

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def test_the_version_is_pyprojects() -> None:
    written = tomllib.loads(PYPROJECT.read_text())["project"]["version"]
    assert stasis_app.__version__ == importlib.metadata.version("infolinia") == written
    shown = subprocess.run(
        [sys.executable, "-m", "stasis_app", "--version"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert shown.strip() == f"infolinia {written}"


def test_the_package_takes_its_version_from_the_metadata() -> None:
    """Not a second copy: another installed version shows as that version."""
    script = (
        "import importlib.metadata as m\n"
        "m.version = lambda name: '9.9.9' if name == 'infolinia' else None\n"
        "import stasis_app\n"
        "print(stasis_app.__version__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.strip() == "9.9.9"
