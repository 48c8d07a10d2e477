"""The prompts pages (role admin): find a prompt, change its text, hear
exactly what callers will hear, see the change against the published text,
publish; history with one-click revert. Every change goes through
:class:`PromptAdmin` (rendered first, recorded with who and when, audited,
live for the next playback); the text the editor saw goes along, so an edit
made meanwhile by someone else is refused, not overwritten.

A bank that offers other languages has a language choice above its list:
each language's texts are edited the same way (their keys are
``uk:greeting``; previews speak in that language's voice)."""

from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlencode

from aiohttp import web

from stasis_app.admin.prompts import PromptAdmin, PromptAdminError, PromptInfo, UploadsBusy
from stasis_app.admin.web.auth import SESSION_KEY, Gate
from stasis_app.admin.web.html import NO_STORE, csrf_field, error_page, esc, page, word_diff
from stasis_app.flow.names import prompt_name
from stasis_app.store import PromptEdit, StaleEdit
from voice.engine import SynthesisError
from voice.languages import DEFAULT, NAMES
from voice.recording import is_marker, transcript

RECORDED = "(nagranie) "


def _shown(text: str) -> str:
    """A stored text as people read it: a recording is its transcript, marked."""
    return RECORDED + transcript(text) if is_marker(text) else text


def _label(text: str, recorded: bool) -> str:
    return RECORDED + text if recorded else text


SOURCE = {"edited": "zmieniony", "config": "konfiguracja", "default": "domyślny"}


def edit_url(tenant: str, key: str) -> str:
    return f"/admin/prompts/{quote(tenant)}/{quote(key)}"


class PromptPages:
    def __init__(self, prompts: PromptAdmin) -> None:
        self.prompts = prompts

    def routes(self, app: web.Application, gate: Gate) -> None:
        for method, path, handler in (
            ("GET", "/prompts", self._tenants),
            ("GET", "/prompts/{tenant}", self._list),
            ("GET", "/prompts/{tenant}/{key}", self._edit),
            ("GET", "/prompts/{tenant}/{key}/preview.wav", self._preview),
            ("POST", "/prompts/{tenant}/{key}/publish", self._publish),
            ("POST", "/prompts/{tenant}/{key}/revert", self._revert),
            ("POST", "/prompts/{tenant}/{key}/recording", self._upload),
        ):
            gate.add(app, method, path, handler, ["admin"])

    async def _tenants(self, request: web.Request) -> web.StreamResponse:
        session = request[SESSION_KEY]
        tenants = [t for t in self.prompts.tenants() if session.user.sees(t)]
        if len(tenants) == 1:
            raise web.HTTPSeeOther(f"/admin/prompts/{quote(tenants[0])}")
        items = "".join(
            f'<li><a href="/admin/prompts/{quote(t)}">{esc(self._name(t))}</a> '
            f'(<a href="/admin/flow/{quote(t)}">przebieg</a>)</li>'
            for t in tenants
        )
        return page("Banki", f"<ul>{items}</ul>", session.user, session.csrf)

    def _name(self, tenant: str) -> str:
        served = self.prompts.deployment.tenants.get(tenant)
        return f"{served.tenant.name} ({tenant})" if served else tenant

    async def _list(self, request: web.Request) -> web.StreamResponse:
        session, tenant = request[SESSION_KEY], request.match_info["tenant"]
        query = request.query.get("q", "").strip()
        language = request.query.get("lang", DEFAULT)
        try:
            infos = self.prompts.list_prompts(tenant, language)
            languages = self.prompts.languages(tenant)
        except PromptAdminError as exc:
            return error_page(404, "Nie ma takiego banku", str(exc), session.user)
        needle = query.casefold()
        texts = {i.key: i.text for i in infos}

        def found(info: PromptInfo) -> bool:
            name = prompt_name(info.key.rpartition(":")[2], texts)
            return any(needle in part.casefold() for part in (info.key, info.text, name))

        shown = [i for i in infos if found(i)]
        rows = "".join(
            f"<tr><td>{esc(prompt_name(i.key.rpartition(':')[2], texts))}</td>"
            f'<td><a href="{edit_url(tenant, i.key)}">{esc(i.key)}</a></td>'
            f"<td>{esc(i.text)}</td><td>{SOURCE.get(i.source, i.source)}</td></tr>"
            for i in shown
        )
        choice = (
            '<p id="languages">Język: '
            + " | ".join(
                f"<strong>{esc(NAMES[code])}</strong>"
                if code == language
                else f'<a href="/admin/prompts/{quote(tenant)}?lang={code}">{esc(NAMES[code])}</a>'
                for code in languages
            )
            + "</p>"
            if len(languages) > 1
            else ""
        )
        body = (
            f'<p><a href="/admin/flow/{quote(tenant)}">Przebieg rozmowy tego banku</a></p>'
            f"{choice}"
            f'<form method="get"><input type="hidden" name="lang" value="{esc(language)}">'
            f'<input name="q" value="{esc(query)}" '
            'placeholder="Szukaj w nazwach i treści" size="40"> <button>Szukaj</button></form>'
            f"<p>{len(shown)} z {len(infos)} komunikatów</p>"
            "<table><tr><th>Komunikat</th><th>Klucz</th><th>Treść</th><th>Źródło</th></tr>"
            f"{rows}</table>"
        )
        return page(f"Komunikaty: {self._name(tenant)}", body, session.user, session.csrf)

    async def _edit(self, request: web.Request, problem: str = "") -> web.StreamResponse:
        session = request[SESSION_KEY]
        tenant, key = request.match_info["tenant"], request.match_info["key"]
        try:
            info = self.prompts.show(tenant, key)
            history = self.prompts.history(tenant, key)
        except PromptAdminError as exc:
            return error_page(404, "Nie ma takiego komunikatu", str(exc), session.user)
        # "seen": the published text when the editor started; it goes along to publish.
        seen = request.query.get("seen", info.text)
        proposed = " ".join(request.query.get("text", info.text).split())
        url = edit_url(tenant, key)
        parts = [f'<p class="error">{esc(problem)}</p>' if problem else ""]
        if request.query.get("published"):
            parts.append('<p class="ok" id="done">Opublikowano: następny dzwoniący to usłyszy.</p>')
        if seen != info.text:
            parts.append(
                '<p class="note">Ktoś zmienił ten komunikat w międzyczasie; '
                "opublikowanie zostanie odrzucone. Zacznij od obecnej treści.</p>"
            )
        recorded = ' <span class="note">(nagranie lektora; tekst to jego zapis)</span>'
        parts.append(
            f'<h2>Opublikowana treść</h2><p id="published">{esc(info.text)}'
            f"{recorded if info.recorded else ''}</p>"
            f'<p><audio controls preload="none" src="{url}/preview.wav"></audio></p>'
            f'<h2>Nowa treść</h2><form method="get" action="{url}">'
            f'<input type="hidden" name="seen" value="{esc(seen)}">'
            f'<textarea name="text" rows="3">{esc(proposed)}</textarea>'
            "<p><button>Podgląd: odsłuchaj i porównaj</button></p></form>"
        )
        if proposed and proposed != info.text:
            audio = f"{url}/preview.wav?" + urlencode({"text": proposed})
            parts.append(
                f'<h2>Podgląd</h2><p id="diff">{word_diff(info.text, proposed)}</p>'
                f'<p>Tak usłyszy to dzwoniący (8 kHz): <audio id="preview" controls '
                f'src="{esc(audio)}"></audio></p>'
                f'<form method="post" action="{url}/publish">{csrf_field(session.csrf)}'
                f'<input type="hidden" name="text" value="{esc(proposed)}">'
                f'<input type="hidden" name="expected" value="{esc(seen)}">'
                "<button>Opublikuj</button></form>"
            )
        parts.append(
            "<h2>Nagranie lektora zamiast syntezy</h2>"
            f'<form method="post" action="{url}/recording" enctype="multipart/form-data">'
            f'{csrf_field(session.csrf)}<input type="hidden" name="expected" value="{esc(seen)}">'
            '<p><input type="file" name="audio" accept=".wav,.mp3,audio/wav,audio/mpeg" required>'
            f'</p><p><label>Treść nagrania (transkrypcja) <input name="transcript" size="60" '
            f'value="{esc(info.text)}" required></label></p>'
            "<p><button>Wgraj i opublikuj</button> (WAV lub MP3, od 0,3 s do 3 minut, najwyżej "
            "20 MB; cisza na początku i na końcu zostanie przycięta, a głośność wyrównana do "
            "komunikatów syntezowanych)</p></form>"
        )
        parts.append(self._history(url, history, info.text, info.recorded, session.csrf))
        title = f"{key} · {self._name(tenant)}"
        return page(title, "".join(parts), session.user, session.csrf)

    def _history(
        self, url: str, history: list[PromptEdit], text: str, recorded: bool, csrf: str
    ) -> str:
        """The edits, newest first; each older version can be published again.
        ``text`` is the published text (a recording's transcript)."""
        current = _label(text, recorded)
        if not history:
            return "<h2>Historia</h2><p>Nikt jeszcze nie zmieniał tego komunikatu.</p>"
        rows = "".join(
            f"<tr><td>#{e.revision}</td><td>{esc(e.at)}</td><td>{esc(e.who)}</td>"
            f"<td>{word_diff(_shown(e.old_text), _shown(e.new_text))}</td><td>"
            + (
                f'<form method="post" action="{url}/revert">{csrf_field(csrf)}'
                f'<input type="hidden" name="revision" value="{e.revision}">'
                f'<input type="hidden" name="expected" value="{esc(text)}">'
                f'<button title="Opublikuj znów: {esc(_shown(e.old_text))}">'
                "Przywróć poprzednią</button></form>"
                if _shown(e.old_text) != current
                else ""
            )
            + "</td></tr>"
            for e in history
        )
        return (
            "<h2>Historia</h2><table><tr><th>Wersja</th><th>Kiedy (UTC)</th><th>Kto</th>"
            f"<th>Zmiana</th><th></th></tr>{rows}</table>"
        )

    async def _preview(self, request: web.Request) -> web.StreamResponse:
        tenant, key = request.match_info["tenant"], request.match_info["key"]
        text = request.query.get("text")
        try:
            wav = await self.prompts.preview(tenant, key, text)
        except PromptAdminError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        except SynthesisError:
            raise web.HTTPServiceUnavailable(
                text="żaden syntezator nie mógł tego wypowiedzieć"
            ) from None
        return web.FileResponse(wav, headers={"Content-Type": "audio/wav", **NO_STORE})

    async def _publish(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        text, expected = str(form.get("text", "")), str(form.get("expected", ""))
        return await self._publish_text(request, text, expected)

    async def _revert(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        tenant, key = request.match_info["tenant"], request.match_info["key"]
        wanted = str(form.get("revision", ""))
        history = self.prompts.history(tenant, key)
        edit = next((e for e in history if str(e.revision) == wanted), None)
        if edit is None:
            return error_page(404, "Nie ma takiej wersji", f"#{wanted}", request[SESSION_KEY].user)
        expected = str(form.get("expected", ""))
        return await self._set(
            request,
            lambda who: self.prompts.revert(tenant, key, edit.revision, who, expected),
        )

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        if self.prompts.uploads_busy():  # before reading a body that would wait
            return error_page(
                429, "Nie opublikowano", "Trwa przetwarzanie innych nagrań; spróbuj za minutę.",
                request[SESSION_KEY].user,
            )  # fmt: skip
        form = await request.post()
        tenant, key = request.match_info["tenant"], request.match_info["key"]
        audio = form.get("audio")
        data = audio.file.read() if isinstance(audio, web.FileField) else b""
        words, expected = str(form.get("transcript", "")), str(form.get("expected", ""))
        return await self._set(
            request,
            lambda who: self.prompts.set_recording(tenant, key, data, words, who, expected),
        )

    async def _publish_text(
        self, request: web.Request, text: str, expected: str
    ) -> web.StreamResponse:
        tenant, key = request.match_info["tenant"], request.match_info["key"]
        return await self._set(
            request, lambda who: self.prompts.set(tenant, key, text, who=who, expected=expected)
        )

    async def _set(
        self, request: web.Request, change: Callable[[str], Awaitable[PromptEdit]]
    ) -> web.StreamResponse:
        tenant, key = request.match_info["tenant"], request.match_info["key"]
        who = f"web:{request[SESSION_KEY].user.name}"
        try:
            await change(who)
        except StaleEdit as exc:
            response = await self._edit(
                request, f"Nie opublikowano: ktoś zmienił ten komunikat na „{exc.current}”."
            )
            response.set_status(409)
            return response
        except UploadsBusy as exc:
            return error_page(429, "Nie opublikowano", str(exc), request[SESSION_KEY].user)
        except PromptAdminError as exc:
            return error_page(400, "Nie opublikowano", str(exc), request[SESSION_KEY].user)
        except SynthesisError:
            return error_page(
                503, "Nie opublikowano", "Żaden syntezator nie mógł tego wypowiedzieć."
            )
        except OSError:
            return error_page(
                507, "Nie opublikowano", "Nie udało się zapisać dźwięku (pełny dysk?)."
            )
        raise web.HTTPSeeOther(edit_url(tenant, key) + "?published=1")
