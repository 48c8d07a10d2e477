"""Finding this machine's Debian mirror in its own apt sources, so the
sandbox never needs a mirror host written into the repository."""

from collections.abc import Iterable
from pathlib import Path

APT_DIR = Path("/etc/apt")


def _one_line_entries(text: str) -> Iterable[tuple[str, list[str]]]:
    """(uri, suites) from ``deb [opts] URI SUITE COMPONENTS`` lines."""
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if not words or words[0] != "deb":
            continue
        words = words[1:]
        if words and words[0].startswith("["):
            while words and not words[0].endswith("]"):
                words = words[1:]
            words = words[1:]
        if len(words) >= 2:
            yield words[0], [words[1]]


def _deb822_entries(text: str) -> Iterable[tuple[str, list[str]]]:
    """(uri, suites) from deb822 ``.sources`` stanzas."""
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        for uri in fields.get("uris", "").split():
            yield uri, fields.get("suites", "").split()


def debian_mirror(apt_dir: Path = APT_DIR) -> str:
    """The first Debian archive mirror (a URI ending in ``/debian``) apt uses here."""
    files = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*"))]
    for file in files:
        if not file.is_file():
            continue
        text = file.read_text(encoding="utf-8", errors="replace")
        entries = _deb822_entries(text) if file.suffix == ".sources" else _one_line_entries(text)
        for uri, _suites in entries:
            if uri.rstrip("/").endswith("/debian"):
                return uri.rstrip("/")
    raise LookupError(f"no Debian mirror (a URI ending in /debian) in {apt_dir}'s sources")
