"""Changing what callers hear, while the line runs.

A bank's staff change a prompt's text through the admin API or the
``infolinia prompts`` command. The new text is rendered first (a text no
engine can speak changes nothing), then recorded in the store with who, when
and the old text, then made live: the next playback of that prompt plays the
new audio, calls already playing the old one finish it (cached files are
content-addressed and never overwritten).

A recording (an uploaded WAV or MP3) is hostile until proven otherwise: it
is checked and decoded in a box (:mod:`voice.upload_check`,
:mod:`voice.upload_decode`) by a pool of its own, at most
:data:`MAX_UPLOADS` at a time per process, in a private work folder. Its
files enter the prompt cache only to be published and leave it again when
the publication is refused (the prompt changed meanwhile); the upload itself
is kept in the store only once published. Every refused upload is audited
(``prompt_recording``, ``refused`` or ``stale``, with the reason). Previews
of unpublished texts render into a bounded area (:mod:`voice.preview`),
never into the cache.

Precedence of a prompt's text: an edit in the store, else the tenant's
``prompts`` in the config, else the default prompt file.

A bank that offers other languages (``tenants.ID.languages``) has a prompt
book per language; their prompts are addressed as ``LANG:key``
(``uk:greeting``), Polish ones by their key alone, in the admin API, the CLI,
the web pages and the store (one row per language's prompt, so each has its
own history). Edits made by
another process (the CLI) reach a running app through :meth:`PromptAdmin.sync`.
"""

import asyncio
import logging
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from stasis_app.deployment import Deployment, ServedTenant
from stasis_app.errors import InfoliniaError
from stasis_app.safeguards.audit import AuditLog
from stasis_app.store import PromptEdit, StaleEdit, Store
from voice import recording, upload_decode
from voice.cache import PromptCache
from voice.convert import is_complete
from voice.languages import DEFAULT, OFFER_PROMPT
from voice.preview import PreviewArea
from voice.prompts import PromptBook, is_fragment

log = logging.getLogger(__name__)

MAX_TEXT = 1000  # characters in one prompt
OWN_KEY = re.compile(r"^[a-z][a-z0-9_]{1,39}$")  # a bank's own prompt (the scenario page's)
MAX_UPLOADS = 4  # recordings being checked, decoded or published at once; more wait outside


def address(language: str, key: str) -> str:
    """How prompt ``key`` of ``language`` is named here: "greeting", "uk:greeting"."""
    return key if language == DEFAULT else f"{language}:{key}"


class PromptAdminError(InfoliniaError):
    """An edit cannot be made; the message is fit for the admin who asked."""


class UnknownPrompt(PromptAdminError):
    """No such tenant, or no such (editable) prompt."""


class BadText(PromptAdminError):
    """The new text is empty or too long (or an upload cannot be a recording)."""


class UploadsBusy(PromptAdminError):
    """:data:`MAX_UPLOADS` recordings are being processed already: try again soon."""


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
        self._uploads = 0  # recordings in set_recording now
        self._installing = asyncio.Lock()  # from a recording's files in place to published
        self._previews: dict[tuple[Path, str], PreviewArea] = {}

    def take_over(self, staged: "PromptAdmin") -> None:
        """Serve the deployment ``staged`` prepared (a config reload)."""
        self.deployment = staged.deployment
        self._revision = staged._revision

    def _served(self, tenant: str) -> ServedTenant:
        served = self.deployment.tenants.get(tenant)
        if served is None:
            known = ", ".join(sorted(self.deployment.tenants))
            raise UnknownPrompt(f"no tenant {tenant!r} (tenants: {known})")
        return served

    def _book(self, served: ServedTenant, key: str) -> tuple[PromptBook, str]:
        """The prompt book and the key in it of prompt ``key`` ("uk:greeting"
        is the Ukrainian book's greeting); UnknownPrompt when it has no such
        prompt or it is a word of a number (generated, not edited)."""
        language, _, plain = key.rpartition(":")
        try:
            book = served.book(language or DEFAULT)
        except KeyError:
            raise UnknownPrompt(
                f"{served.tenant.id} does not offer language {language!r}"
            ) from None
        if is_fragment(plain) or plain not in book.texts:
            raise UnknownPrompt(f"{served.tenant.id} has no prompt {key!r}")
        return book, plain

    def _editable(self, served: ServedTenant, key: str) -> None:
        self._book(served, key)

    def languages(self, tenant: str) -> list[str]:
        """The languages ``tenant``'s callers may be spoken to in, Polish first."""
        return [DEFAULT, *self._served(tenant).books]

    def tenants(self) -> list[str]:
        return sorted(self.deployment.tenants)

    def list_prompts(self, tenant: str, language: str = DEFAULT) -> list[PromptInfo]:
        """``tenant``'s prompts in ``language`` (keys as :func:`address` names them)."""
        served = self._served(tenant)
        try:
            book = served.book(language)
        except KeyError:
            raise UnknownPrompt(f"{tenant} does not offer language {language!r}") from None
        edited = self.store.prompt_texts(tenant)
        media = book.media_uris()
        configured = (
            served.tenant.prompts
            if language == DEFAULT
            else {**served.tenant.languages[language].prompts, OFFER_PROMPT: ""}  # type: ignore[index]
        )

        def source(key: str) -> str:
            if address(language, key) in edited:
                return "edited"
            return "config" if key in configured else "default"

        return [
            PromptInfo(
                tenant,
                address(language, key),
                recording.transcript(text),
                source(key),
                media[key],
                recording.is_marker(text),
            )
            for key, text in sorted(book.texts.items())
            if not is_fragment(key)
        ]

    def show(self, tenant: str, key: str) -> PromptInfo:
        served = self._served(tenant)
        self._editable(served, key)
        language = key.rpartition(":")[0] or DEFAULT
        return next(info for info in self.list_prompts(tenant, language) if info.key == key)

    def history(self, tenant: str, key: str | None = None) -> list[PromptEdit]:
        served = self._served(tenant)
        if key is not None:
            self._editable(served, key)
        return self.store.prompt_history(tenant, key)

    async def set(
        self, tenant: str, key: str, text: str, who: str, expected: str | None = None
    ) -> PromptEdit:
        """Render ``text``, record it, make it live. ``expected``: the text the
        editor saw; the edit is refused (StaleEdit) when it changed since."""
        served = self._served(tenant)
        self._editable(served, key)
        return await self._publish(served, key, clean_text(text), who, expected)

    async def create(self, tenant: str, key: str, text: str, who: str) -> PromptEdit:
        """A new prompt of the bank's own (the scenario page's "new prompt"):
        rendered, recorded in the store like an edit (its old text empty),
        then in the bank's books: the Polish one, and with the Polish text in
        each other language's until someone translates it there."""
        served = self._served(tenant)
        if not OWN_KEY.match(key) or is_fragment(key):
            raise BadText(f"{key!r} cannot name a prompt (a-z, 0-9, _; 2 to 40 characters)")
        if key in served.prompts.texts:
            raise BadText(f"{tenant} already has a prompt {key!r}")
        text = clean_text(text)
        served.prompts.texts[key] = ""  # the old text the store records
        try:
            edit = await self._publish(served, key, text, who, None)
        except BaseException:
            if served.prompts.texts.get(key) == "":
                del served.prompts.texts[key]
            raise
        for book in served.books.values():
            if key not in book.texts:
                await book.set_text(key, text)
        return edit

    def own_prompts(self) -> int:
        """Put the banks' own prompts (made on the scenario page) into the
        books, unrendered: before the flows are checked at start and reload,
        since a published version may play them. Returns how many."""
        added = 0
        for tenant, served in self.deployment.tenants.items():
            for key, text in self.store.prompt_texts(tenant).items():
                if self._own(served, key):
                    for book in (served.prompts, *served.books.values()):
                        book.texts.setdefault(key, text)
                    added += 1
        return added

    @staticmethod
    def _own(served: ServedTenant, key: str) -> bool:
        """Whether stored prompt ``key`` is one of the bank's own not yet in its book."""
        return bool(OWN_KEY.match(key)) and not is_fragment(key) and key not in served.prompts.texts

    def uploads_busy(self) -> bool:
        """Whether a new upload would be turned away now (the API asks before
        reading a body it would refuse)."""
        return self._uploads >= MAX_UPLOADS

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
        as its text: checked, decoded in a box, trimmed, loudness-normalized
        and converted first (BadText says why an upload is refused,
        UploadsBusy that too many are being processed), then published like
        a text edit (history, revert, audit) and only then kept in the store
        as uploaded. A refused or stale upload leaves no file and no row
        behind, and is audited with the reason."""
        served = self._served(tenant)
        self._editable(served, key)
        if self.uploads_busy():
            await self._audit_upload(tenant, key, who, data, "refused", "too many uploads at once")
            raise UploadsBusy(
                f"{MAX_UPLOADS} recordings are being processed already; try again in a minute"
            )
        self._uploads += 1
        try:
            return await self._set_recording(served, key, data, transcript, who, expected)
        except StaleEdit:
            await self._audit_upload(tenant, key, who, data, "stale", "changed meanwhile")
            raise
        except BadText as exc:
            await self._audit_upload(tenant, key, who, data, "refused", str(exc))
            raise
        except OSError as exc:
            await self._audit_upload(tenant, key, who, data, "failed", type(exc).__name__)
            raise
        finally:
            self._uploads -= 1

    async def _set_recording(
        self,
        served: ServedTenant,
        key: str,
        data: bytes,
        transcript: str,
        who: str,
        expected: str | None,
    ) -> PromptEdit:
        words = clean_text(transcript)
        if expected is not None:  # stale before the work is refused before it, too
            stored = await self.store.run(partial(self.store.prompt_texts, served.tenant.id))
            book, plain = self._book(served, key)
            shown = recording.transcript(stored.get(key, book.texts[plain]))
            if expected.split() != shown.split():
                raise StaleEdit(shown)
        root = self._book(served, key)[0].cache.root
        loop = asyncio.get_running_loop()
        work = await asyncio.to_thread(recording.work_folder, root)
        try:
            try:
                made = await loop.run_in_executor(
                    upload_decode.POOL, recording.render_upload, data, work
                )
            except recording.BadRecording as exc:
                raise BadText(str(exc)) from None
            log.info(
                "recording accepted",
                extra={"tenant": served.tenant.id, "prompt": key, "seconds": made.seconds,
                       "gain_db": made.gain_db},
            )  # fmt: skip
            return await self._publish_recording(served, key, made, data, words, who, expected)
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)  # what was not installed

    async def _publish_recording(
        self,
        served: ServedTenant,
        key: str,
        made: recording.Recording,
        data: bytes,
        words: str,
        who: str,
        expected: str | None,
    ) -> PromptEdit:
        """Put the files in place, publish, keep the upload; on any failure
        before the edit is recorded, take the files out again."""
        root = self._book(served, key)[0].cache.root
        async with self._installing:  # another upload of the same file waits here
            made, placed = await asyncio.to_thread(recording.install, made, root)

            def keep() -> None:
                self.store.save_recording(made.sha, made.kind, data, made.seconds, who)

            try:
                return await self._publish(
                    served, key, recording.marker(made.sha, words), who, expected, keep
                )
            except BaseException:
                if placed and made.sha not in await asyncio.to_thread(self._recorded):
                    await asyncio.to_thread(recording.uninstall, root, made.sha)
                raise

    def _recorded(self) -> frozenset[str]:
        """Every recording a prompt text or an edit of any tenant names."""
        shas: set[str] = set()
        for tenant in self.deployment.tenants:
            texts = list(self.store.prompt_texts(tenant).values())
            for edit in self.store.prompt_history(tenant):
                texts += (edit.old_text, edit.new_text)
            shas.update(recording.parse_marker(t)[0] for t in texts if recording.is_marker(t))
        return frozenset(shas)

    async def _audit_upload(
        self, tenant: str, key: str, who: str, data: bytes, result: str, reason: str
    ) -> None:
        await AuditLog(self.store).record(
            tenant=tenant,
            action="prompt_recording",
            result=result,
            detail={"prompt": key, "who": who, "bytes": len(data), "reason": reason},
        )
        log.warning(
            "recording not published",
            extra={"tenant": tenant, "prompt": key, "result": result, "reason": reason},
        )

    async def revert(
        self, tenant: str, key: str, revision: int, who: str, expected: str | None = None
    ) -> PromptEdit:
        """Publish again the text (or recording) ``key`` had before edit ``revision``."""
        served = self._served(tenant)
        self._editable(served, key)
        edit = next((e for e in self.history(tenant, key) if e.revision == revision), None)
        if edit is None:
            raise UnknownPrompt(f"{tenant}/{key} has no edit #{revision}")
        if recording.is_marker(edit.old_text):
            await asyncio.to_thread(self.restore_recordings)  # its files, if the cache lost them
        return await self._publish(served, key, edit.old_text, who, expected)

    async def _publish(
        self,
        served: ServedTenant,
        key: str,
        text: str,
        who: str,
        expected: str | None,
        keep: Callable[[], None] | None = None,
    ) -> PromptEdit:
        """Render, record (then ``keep``, in the same worker: nothing can
        cancel between the two), make live, audit."""
        tenant = served.tenant.id
        book, plain = self._book(served, key)
        if not recording.is_marker(text):
            await asyncio.to_thread(self._preview_area(book.cache).adopt, text)  # heard = published
        await book.prepare(text)  # audio first: a failed render changes nothing
        current = book.texts[plain]

        def record() -> PromptEdit:
            edit = self.store.set_prompt_text(tenant, key, text, who, current, expected)
            if keep is not None:
                keep()
            return edit

        edit = await self.store.run(record)
        await book.set_text(plain, text)
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
        """The 8 kHz WAV callers hear for ``key`` (or for ``text`` in its place:
        rendered into the bounded preview area, not the prompt cache)."""
        served = self._served(tenant)
        book, plain = self._book(served, key)
        if text is None:
            base = await book.prepare(book.texts[plain])
        else:
            base = await self._preview_area(book.cache).render(clean_text(text))
        return base.with_suffix(".wav")

    def _preview_area(self, cache: PromptCache) -> PreviewArea:
        """The preview area of ``cache`` (each language's cache has its own:
        a preview is rendered in the voice of the prompt's language)."""
        area = self._previews.get((cache.root, cache.chain.identity))
        if area is None or area.cache is not cache:
            area = self._previews[(cache.root, cache.chain.identity)] = PreviewArea(cache)
        return area

    def forget_leftovers(self) -> int:
        """Remove what interrupted uploads left in the prompt cache (work
        folders, recordings no text names) and previews beyond the bounds."""
        keep = self._recorded()
        removed = 0
        for root in {served.prompts.cache.root for served in self.deployment.tenants.values()}:
            removed += recording.forget_leftovers(root, keep)
        for served in self.deployment.tenants.values():
            for book in (served.prompts, *served.books.values()):
                removed += self._preview_area(book.cache).trim()
        return removed

    def restore_recordings(self) -> int:
        """Convert again, from the store, every stored recording whose files
        are missing from the prompt cache (a cache emptied or moved); at
        start-up, before rendering. Returns how many were restored."""
        restored = 0
        for tenant, served in self.deployment.tenants.items():
            for text in self.store.prompt_texts(tenant).values():
                if not recording.is_marker(text):
                    continue
                sha = recording.parse_marker(text)[0]
                root = served.prompts.cache.root
                if is_complete(recording.base_path(root, sha)):
                    continue
                data = self.store.recording_data(sha)
                try:
                    made = None if data is None else recording.import_recording(data, root)
                except recording.BadRecording as exc:  # kept before today's checks
                    log.error(
                        "a stored recording is refused by the upload checks; its prompt "
                        "plays the apology until it is recorded again",
                        extra={"tenant": tenant, "reason": str(exc)},
                    )
                    continue
                if made is None or made.sha != sha:
                    log.error("a recorded prompt's recording is lost", extra={"tenant": tenant})
                    continue
                restored += 1
        return restored

    def load_stored(self) -> int:
        """Put the store's edits into the prompt books before they are rendered
        (at start-up; also what the call simulator needs to name what it hears)."""
        self._revision = self.store.revision()
        removed = self.forget_leftovers()
        if removed:
            log.info("leftovers of interrupted uploads removed", extra={"files": removed})
        restored = self.restore_recordings()
        if restored:
            log.info("recordings restored into the prompt cache", extra={"recordings": restored})
        loaded = 0
        for tenant, served in self.deployment.tenants.items():
            for key, text in self.store.prompt_texts(tenant).items():
                if self._own(served, key):
                    for book in (served.prompts, *served.books.values()):
                        book.texts.setdefault(key, text)
                try:
                    book, plain = self._book(served, key)
                except UnknownPrompt:  # a language the bank no longer offers
                    continue
                book.texts[plain] = text
                loaded += 1
        return loaded

    async def apply_stored(self) -> int:
        """Make every edit in the store live (at start-up, and after edits made
        by another process); returns how many prompts changed."""
        changed = 0
        for tenant, served in self.deployment.tenants.items():
            stored = await self.store.run(partial(self.store.prompt_texts, tenant))
            for key, text in stored.items():
                if self._own(served, key):  # made on another node's scenario page
                    for other in served.books.values():
                        if key not in other.texts:
                            await other.set_text(key, text)
                    served.prompts.texts[key] = ""  # set (and rendered) just below
                try:
                    book, plain = self._book(served, key)
                except UnknownPrompt:
                    continue
                if book.texts[plain] != text:
                    await book.set_text(plain, text)
                    changed += 1
        return changed

    async def sync(self) -> int:
        """Apply edits recorded since the last look (cheap when there are none)."""
        revision = await self.store.run(self.store.revision)
        if revision == self._revision:
            return 0
        # A recording uploaded through another node (or a process with another
        # prompt folder) has its files in that node's cache only: convert it
        # here from the store first, or its prompt could never go live here.
        restored = await asyncio.to_thread(self.restore_recordings)
        if restored:
            log.info("recordings restored into the prompt cache", extra={"recordings": restored})
        changed = await self.apply_stored()
        self._revision = revision
        if changed:
            log.info("prompt edits applied", extra={"prompts": changed, "revision": revision})
        return changed
