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

import logging
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from stasis_app.audit import AuditLog
from stasis_app.deployment import Deployment, Line
from stasis_app.store import PromptEdit, Store
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
    return text


@dataclass(frozen=True)
class PromptInfo:
    tenant: str
    key: str
    text: str
    source: str  # "edited", "config" or "default"
    media: str  # what Asterisk plays now


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
            PromptInfo(tenant, key, text, source(key), media[key])
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
        text = clean_text(text)
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

    def load_stored(self) -> int:
        """Put the store's edits into the prompt books before they are rendered
        (at start-up; also what the call simulator needs to name what it hears)."""
        self._revision = self.store.revision()
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
