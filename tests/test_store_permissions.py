"""The state store is private from its first start: the database and its
-wal and -shm files 0600, its own folder 0700, whatever the umask."""

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from stasis_app.store import Store

pytestmark = pytest.mark.unit


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The umask most machines start services with: files 0644, folders 0755."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def store_files(path: Path) -> dict[str, int]:
    return {
        suffix: mode(path.with_name(path.name + suffix))
        for suffix in ("", "-wal", "-shm")
        if path.with_name(path.name + suffix).exists()
    }


def test_a_fresh_store_is_private_from_the_start(tmp_path: Path, umask_022: None) -> None:
    path = tmp_path / "var" / "state" / "state.sqlite"
    store = Store(path)
    store.prompt_texts("izbica")  # the connection is open: -wal and -shm exist
    assert store_files(path) == {"": 0o600, "-wal": 0o600, "-shm": 0o600}
    assert mode(path.parent) == 0o700
    assert mode(path.parent.parent) == 0o755  # a parent made on the way: not the store's


def test_a_store_folder_made_beforehand_is_tightened_but_a_shared_one_is_not(
    tmp_path: Path, umask_022: None
) -> None:
    own = tmp_path / "lib-infolinia"
    own.mkdir(mode=0o755)  # as a package or an admin would make it
    Store(own / "state.sqlite")
    assert mode(own) == 0o700

    shared = tmp_path / "workdir"
    shared.mkdir(mode=0o755)
    (shared / "notes.txt").write_text("someone else's")
    path = shared / "state.sqlite"
    Store(path).prompt_texts("izbica")
    assert mode(shared) == 0o755  # not the store's to change
    assert store_files(path) == {"": 0o600, "-wal": 0o600, "-shm": 0o600}


def test_a_store_left_readable_by_an_older_version_is_tightened(
    tmp_path: Path, umask_022: None
) -> None:
    path = tmp_path / "state" / "state.sqlite"
    Store(path).prompt_texts("izbica")
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).chmod(0o644)
    path.parent.chmod(0o755)
    Store(path).prompt_texts("izbica")
    assert store_files(path) == {"": 0o600, "-wal": 0o600, "-shm": 0o600}
    assert mode(path.parent) == 0o700
