"""Changing what callers hear, while the line runs.

A bank's staff change a prompt's text through the admin API or the
``infolinia prompts`` command. The new text is rendered first (a text no
engine can speak changes nothing), then recorded in the store with who, when
and the old text, then made live: the next playback of that prompt plays the
new audio, calls already playing the old one finish it (cached files are
content-addressed and never overwritten).

Precedence of a prompt's text: an edit in the store, else the tenant's
``prompts`` in the config, else the default prompt file. Edits made by
another process (the CLI) reach a running app through :meth:`PromptAdmin.sync`.
"""

import asyncio
import logging
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from stasis_app.audit import AuditLog
from stasis_app.deployment import Deployment, Line
from stasis_app.store import PromptEdit, Store
from voice import recording
from voice.convert import is_complete
from voice.polish import FRAGMENT_WORDS, fragment_key

log = logging.getLogger(__name__)

MAX_TEXT = 1000  # characters in one prompt
# Number words for amounts, dates and digits are generated, not edited.
FRAGMENT_KEYS = frozenset(fragment_key(word) for word in FRAGMENT_WORDS)


class PromptAdminError(Exception):
    """An edit cannot be made; the message is fit for the admin who asked."""


class UnknownPrompt(PromptAdminError):
    """No such tenant, or no such (editable) prompt."""


class BadText(PromptAdminError):
    """The new text is empty or too long."""


def clean_text(text: str) -> str:
    text = " ".join(text.split())
    if not text or len(text) > MAX_TEXT:
        raise BadText(f"a prompt's text has 1 to {MAX_TEXT} characters")
    if recording.is_marker(text):
        raise BadText(f"a prompt's text cannot start with {recording.PREFIX}")
    return text


@dataclass(frozen=True)
class PromptInfo:
    tenant: str
    key: str
    text: str
    source: str  # "edited", "config" or "default"
    media: str  # what Asterisk plays now
    recorded: bool = False  # plays an uploaded recording; text is its transcript


class PromptAdmin:
    """Reads and edits the prompts of every tenant of a deployment."""

    def __init__(self, deployment: Deployment, store: Store) -> None:
        self.deployment = deployment
        self.store = store
        self._revision = 0

    def take_over(self, staged: "PromptAdmin") -> None:
        """Serve the deployment ``staged`` prepared (a config reload)."""
        self.deployment = staged.deployment
        self._revision = staged._revision

    def _line(self, tenant: str) -> Line:
        line = self.deployment.tenants.get(tenant)
        if line is None:
            known = ", ".join(sorted(self.deployment.tenants))
            raise UnknownPrompt(f"no tenant {tenant!r} (tenants: {known})")
        return line

    def _editable(self, line: Line, key: str) -> None:
        if key in FRAGMENT_KEYS or key not in line.prompts.texts:
            raise UnknownPrompt(f"{line.tenant.id} has no prompt {key!r}")

    def tenants(self) -> list[str]:
        return sorted(self.deployment.tenants)

    def list_prompts(self, tenant: str) -> list[PromptInfo]:
        line = self._line(tenant)
        edited = self.store.prompt_texts(tenant)
        media = line.prompts.media_uris()

        def source(key: str) -> str:
            if key in edited:
                return "edited"
            return "config" if key in line.tenant.prompts else "default"

        return [
            PromptInfo(
                tenant,
                key,
                recording.transcript(text),
                source(key),
                media[key],
                recording.is_marker(text),
            )
            for key, text in sorted(line.prompts.texts.items())
            if key not in FRAGMENT_KEYS
        ]

    def show(self, tenant: str, key: str) -> PromptInfo:
        line = self._line(tenant)
        self._editable(line, key)
        return next(info for info in self.list_prompts(tenant) if info.key == key)

    def history(self, tenant: str, key: str | None = None) -> list[PromptEdit]:
        line = self._line(tenant)
        if key is not None:
            self._editable(line, key)
        return self.store.prompt_history(tenant, key)

    async def set(
        self, tenant: str, key: str, text: str, who: str, expected: str | None = None
    ) -> PromptEdit:
        """Render ``text``, record it, make it live. ``expected``: the text the
        editor saw; the edit is refused (StaleEdit) when it changed since."""
        line = self._line(tenant)
        self._editable(line, key)
        return await self._publish(line, key, clean_text(text), who, expected)

    async def set_recording(
        self,
        tenant: str,
        key: str,
        data: bytes,
        transcript: str,
        who: str,
        expected: str | None = None,
    ) -> PromptEdit:
        """Make an uploaded WAV or MP3 the audio of ``key``, with ``transcript``
        as its text: checked, trimmed, loudness-normalized and converted
        first (BadText says why an upload is refused), kept in the store as
        uploaded, then published like a text edit (history, revert, audit)."""
        line = self._line(tenant)
        self._editable(line, key)
        words = clean_text(transcript)
        try:
            made = await asyncio.to_thread(
                recording.import_recording, data, line.prompts.cache.root
            )
        except recording.BadRecording as exc:
            raise BadText(str(exc)) from None
        await self.store.run(
            lambda: self.store.save_recording(made.sha, made.kind, data, made.seconds, who)
        )
        log.info(
            "recording imported",
            extra={
                "tenant": tenant,
                "prompt": key,
                "seconds": made.seconds,
                "gain_db": made.gain_db,
            },
        )
        return await self._publish(line, key, recording.marker(made.sha, words), who, expected)

    async def revert(
        self, tenant: str, key: str, revision: int, who: str, expected: str | None = None
    ) -> PromptEdit:
        """Publish again the text (or recording) ``key`` had before edit ``revision``."""
        line = self._line(tenant)
        self._editable(line, key)
        edit = next((e for e in self.history(tenant, key) if e.revision == revision), None)
        if edit is None:
            raise UnknownPrompt(f"{tenant}/{key} has no edit #{revision}")
        if recording.is_marker(edit.old_text):
            await asyncio.to_thread(self.restore_recordings)  # its files, if the cache lost them
        return await self._publish(line, key, edit.old_text, who, expected)

    async def _publish(
        self, line: Line, key: str, text: str, who: str, expected: str | None
    ) -> PromptEdit:
        tenant = line.tenant.id
        await line.prompts.prepare(text)  # audio first: a failed render changes nothing
        current = line.prompts.texts[key]
        edit = await self.store.run(
            lambda: self.store.set_prompt_text(tenant, key, text, who, current, expected)
        )
        await line.prompts.set_text(key, text)
        self._revision = max(self._revision, edit.revision)
        await AuditLog(self.store).record(
            tenant=tenant,
            action="prompt_edit",
            result="ok",
            detail={"prompt": key, "who": who, "revision": edit.revision},
        )
        log.info(
            "prompt changed",
            extra={"tenant": tenant, "prompt": key, "revision": edit.revision, "who": who},
        )
        return edit

    async def preview(self, tenant: str, key: str, text: str | None = None) -> Path:
        """The 8 kHz WAV callers hear for ``key`` (or for ``text`` in its place)."""
        line = self._line(tenant)
        self._editable(line, key)
        spoken = clean_text(text) if text is not None else line.prompts.texts[key]
        base = await line.prompts.prepare(spoken)
        return base.with_suffix(".wav")

    def restore_recordings(self) -> int:
        """Convert again, from the store, every stored recording whose files
        are missing from the prompt cache (a cache emptied or moved); at
        start-up, before rendering. Returns how many were restored."""
        restored = 0
        for tenant, line in self.deployment.tenants.items():
            for text in self.store.prompt_texts(tenant).values():
                if not recording.is_marker(text):
                    continue
                sha = recording.parse_marker(text)[0]
                root = line.prompts.cache.root
                if is_complete(recording.base_path(root, sha)):
                    continue
                data = self.store.recording_data(sha)
                if data is None or recording.import_recording(data, root).sha != sha:
                    log.error("a recorded prompt's recording is lost", extra={"tenant": tenant})
                    continue
                restored += 1
        return restored

    def load_stored(self) -> int:
        """Put the store's edits into the prompt books before they are rendered
        (at start-up; also what the call simulator needs to name what it hears)."""
        self._revision = self.store.revision()
        restored = self.restore_recordings()
        if restored:
            log.info("recordings restored into the prompt cache", extra={"recordings": restored})
        loaded = 0
        for tenant, line in self.deployment.tenants.items():
            for key, text in self.store.prompt_texts(tenant).items():
                if key in line.prompts.texts:
                    line.prompts.texts[key] = text
                    loaded += 1
        return loaded

    async def apply_stored(self) -> int:
        """Make every edit in the store live (at start-up, and after edits made
        by another process); returns how many prompts changed."""
        changed = 0
        for tenant, line in self.deployment.tenants.items():
            stored = await self.store.run(partial(self.store.prompt_texts, tenant))
            for key, text in stored.items():
                if key in line.prompts.texts and line.prompts.texts[key] != text:
                    await line.prompts.set_text(key, text)
                    changed += 1
        return changed

    async def sync(self) -> int:
        """Apply edits recorded since the last look (cheap when there are none)."""
        revision = await self.store.run(self.store.revision)
        if revision == self._revision:
            return 0
        changed = await self.apply_stored()
        self._revision = revision
        if changed:
            log.info("prompt edits applied", extra={"prompts": changed, "revision": revision})
        return changed
