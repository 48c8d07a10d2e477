"""Finding the Debian mirror in apt's own sources."""

from pathlib import Path

import pytest

from devtools.apt_sources import debian_mirror

pytestmark = pytest.mark.unit


def apt_dir(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "sources.list.d").mkdir()
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_deb822_sources_skip_security_and_third_party(tmp_path: Path) -> None:
    found = debian_mirror(
        apt_dir(
            tmp_path,
            {
                "sources.list.d/nodesource.sources": (
                    "Types: deb\nURIs: https://example.invalid/node_20.x\nSuites: nodistro\n"
                ),
                "sources.list.d/debian.sources": "Types: deb\n"
                "URIs: http://mirror.example.invalid/debian-security\n"
                "Suites: bookworm-security\n\n"
                "# a comment\nTypes: deb\nURIs: http://mirror.example.invalid/debian/\n"
                "Suites: bookworm bookworm-updates\nComponents: main\n",
            },
        )
    )
    assert found == "http://mirror.example.invalid/debian"


def test_one_line_format_with_options(tmp_path: Path) -> None:
    found = debian_mirror(
        apt_dir(
            tmp_path,
            {
                "sources.list": "# deb http://old.invalid/debian bookworm main\n"
                "deb-src http://src.invalid/debian bookworm main\n"
                "deb [arch=amd64 signed-by=/k.gpg] http://one.invalid/debian bookworm main\n",
            },
        )
    )
    assert found == "http://one.invalid/debian"


def test_no_debian_mirror_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LookupError, match="no Debian mirror"):
        debian_mirror(
            apt_dir(tmp_path, {"sources.list": "deb http://x.invalid/ubuntu jammy main\n"})
        )
