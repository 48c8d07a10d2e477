"""The audit trail's key: what makes a rewritten chain detectable.

Each audit entry, each signed chain head and each verified checkpoint carries
an HMAC-SHA256 under this key. The key never enters the state store: it comes
from ``$INFOLINIA_AUDIT_KEY`` or from ``audit.key_file`` (readable by its
owner only, outside the store's folder). Whoever can rewrite the store but
cannot read the key can delete or edit entries and recompute plain hashes,
but cannot make the MACs match, so ``infolinia audit verify`` names the entry.

The key's id (8 hex digits, an HMAC of a fixed text: it says nothing about the
key) is written into every keyed entry, so a verify with the wrong key, or an
app started with a new key on an old trail, says so instead of reporting every
entry as changed.
"""

import hashlib
import hmac
import json
import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stasis_app.config import AuditSettings
from stasis_app.errors import ConfigError

log = logging.getLogger(__name__)

ENV = "INFOLINIA_AUDIT_KEY"
MIN_KEY_CHARS = 32  # e.g. `openssl rand -hex 32` (64 characters)


class AuditKeyError(ConfigError):
    """The audit key cannot be had, or is not the one the trail was written with
    (a configuration problem: every command reports it and exits 2)."""

    def __init__(self, problem: str) -> None:
        super().__init__("audit", "audit.key_file", problem)


class AuditKeyMissing(AuditKeyError):
    """No ``$INFOLINIA_AUDIT_KEY`` and no key file."""


@dataclass(frozen=True)
class AuditKey:
    secret: bytes = field(repr=False)
    source: str  # where it came from: the environment variable or the file

    @property
    def id(self) -> str:
        """8 hex digits naming the key (not derived from it in a reversible way)."""
        return hmac.new(self.secret, b"infolinia audit key id", hashlib.sha256).hexdigest()[:8]

    def sign(self, label: str, fields: list[Any]) -> str:
        """The HMAC-SHA256 (hex) of ``fields`` as canonical JSON, under ``label``
        (so an entry's MAC can never pass for a head's or a checkpoint's)."""
        material = json.dumps([label, self.id, *fields], ensure_ascii=False, separators=(",", ":"))
        return hmac.new(self.secret, material.encode(), hashlib.sha256).hexdigest()

    def check(self, label: str, fields: list[Any], mac: str) -> bool:
        return hmac.compare_digest(self.sign(label, fields), mac)


def read_key(
    settings: AuditSettings, env: Mapping[str, str] | None = None, *, create: bool = False
) -> AuditKey:
    """The key from ``$INFOLINIA_AUDIT_KEY``, else from ``settings.key_file``.

    With ``create``, a missing file is made (random, 0600, its folder 0700)
    and the log says where: the caller must have checked that the trail was
    never keyed (a lost key must be restored, never silently replaced).
    """
    env = os.environ if env is None else env
    value = env.get(ENV)
    if value is not None:
        if len(value.strip()) < MIN_KEY_CHARS:
            raise AuditKeyError(
                f"${ENV} has fewer than {MIN_KEY_CHARS} characters (use: openssl rand -hex 32)"
            )
        return AuditKey(value.strip().encode(), f"${ENV}")
    path = settings.key_file
    try:
        return _from_file(path)
    except FileNotFoundError:
        if not create:
            raise AuditKeyMissing(
                f"no audit key: set ${ENV} or create {path} (audit.key_file), readable by "
                "its owner only; the app creates it on the first entry of a new trail"
            ) from None
    return _create(path)


def _from_file(path: Path) -> AuditKey:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_IMODE(mode) & 0o077:
            raise AuditKeyError(
                f"{path} may be read by others (mode {stat.S_IMODE(mode):o}): chmod 600 {path}"
            )
        text = os.read(fd, 4096).decode().strip()
    finally:
        os.close(fd)
    if len(text) < MIN_KEY_CHARS:
        raise AuditKeyError(f"{path} holds fewer than {MIN_KEY_CHARS} characters")
    return AuditKey(text.encode(), str(path))


def _create(path: Path) -> AuditKey:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:  # another process made it meanwhile: use theirs
        return _from_file(path)
    except OSError as exc:
        raise AuditKeyError(
            f"cannot create the audit key {path}: {exc.strerror} (set ${ENV}, or "
            "audit.key_file to a path this user may create)"
        ) from None
    try:
        os.write(fd, os.urandom(32).hex().encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    log.warning(
        "audit key created: keep a copy apart from the state store's backups "
        "(without it the trail cannot be verified)",
        extra={"path": str(path)},
    )
    return _from_file(path)
