"""Search every file under some folders for secrets, in a process of its own.

Why a process of its own: closing a file cancels every POSIX lock the
closing process holds on it, SQLite's included. A test process that keeps a
SQLite connection open (a reference core's demo bank) and reads that
database with ``open()`` would drop its locks; another process's
connection, closing, then takes itself for the last one and deletes the WAL
that the first still writes to. Run here, the reads touch no lock of the
test's.

    python -m tests.support.leak_scan < {"roots": [...], "secrets": [...]}

prints a JSON list of "path: secret" for each find.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent


def hex_runs(text: bytes) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(rb"[0-9a-fA-F]{16,}", text)]


def scan(root: Path, secrets: list[str]) -> list[str]:
    """Every file under ``root`` holding a secret, unless it sits inside a long
    hex run (a hash or an id, where six digits may occur by chance)."""
    found = []
    for path in root.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        runs: list[tuple[int, int]] | None = None  # found once per file, if needed
        for secret in secrets:
            for match in re.finditer(re.escape(secret.encode()), data):
                runs = hex_runs(data) if runs is None else runs
                inside = any(a <= match.start() and match.end() <= b for a, b in runs)
                if not inside:
                    found.append(f"{path}: {secret}")
    return found


def leaks(roots: list[Path], secrets: list[str]) -> list[str]:
    """:func:`scan` of each existing root, run in a child process (see above)."""
    child = subprocess.run(
        [sys.executable, "-m", "tests.support.leak_scan"],
        input=json.dumps({"roots": [str(r) for r in roots], "secrets": secrets}),
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    found: list[str] = json.loads(child.stdout)
    return found


def main() -> None:
    asked = json.load(sys.stdin)
    roots = [Path(r) for r in asked["roots"]]
    found = [leak for root in roots if root.exists() for leak in scan(root, asked["secrets"])]
    json.dump(found, sys.stdout)


if __name__ == "__main__":
    main()
