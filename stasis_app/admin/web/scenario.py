"""The *Scenariusz* page: a bank's call flow as a diagram (its admins edit
it, its auditors read it). A click on a state opens its side panel: its
name, its verb's form (stasis_app/admin/web/scenario_forms.py), its prompts
(text editable and playable in place), its transitions as a list, and the
typical edits (a new menu option with a new prompt, a say state inserted);
the HTML is written by stasis_app/admin/web/scenario_panel.py.

Every save is a draft version (stasis_app/flow/versions.py), checked by the
app's own flow checker; its problem is shown in Polish next to the state
and the field, and a draft with a problem cannot be published. Publishing
and reverting are the versions' own (atomic, audited); the diff of any two
versions is a page of its own. Forms carry the session's CSRF token.

The element ``#test-call`` is where the page's test call lives; the script
``window.infoliniaScenario.highlight(stateKey)`` marks the state a call is
in on the diagram (docs/admin.md, "Scenariusz").
"""

import asyncio
import json
import logging
import re
from functools import partial
from typing import Any

from aiohttp import web

from stasis_app.admin.prompts import PromptAdmin, PromptAdminError
from stasis_app.admin.web.auth import SESSION_KEY, Gate
from stasis_app.admin.web.flow import inline_svg
from stasis_app.admin.web.html import error_page, esc, page, tenant_choice
from stasis_app.admin.web.scenario_diagram import StateMarks, marks, to_dot
from stasis_app.admin.web.scenario_forms import FormError, fields, polish, read
from stasis_app.admin.web.scenario_panel import (
    CONSULTANT,
    SCRIPT,
    STYLE,
    WEBHOOK,
    events_table,
    panel,
    scaled,
    scenario_url,
    status,
    versions,
)
from stasis_app.admin.web.test_call import panel as test_call_panel
from stasis_app.admin.web.test_call import version_choices
from stasis_app.flow.editing import KEY, EditError, FlowDocument, slug
from stasis_app.flow.versions import (
    DRAFT,
    PUBLISHED,
    FlowRejected,
    FlowVersion,
    FlowVersions,
    Problem,
    VersionError,
)
from stasis_app.store import StaleEdit
from stasis_app.verbs.registry import VerbRegistry
from voice.engine import SynthesisError

log = logging.getLogger(__name__)

READERS = ("admin", "auditor")
EDITORS = ("admin",)


class ScenarioPages:
    def __init__(self, prompts: PromptAdmin, flows: FlowVersions) -> None:
        self.prompts = prompts
        self.flows = flows
        self._svgs: dict[tuple[str, str], str] = {}  # (text hash, problem state) -> SVG
        self._verbs: VerbRegistry | None = None

    def routes(self, app: web.Application, gate: Gate) -> None:
        gate.add(app, "GET", "/scenario", self._tenants, READERS)
        gate.add(app, "GET", "/scenario/{tenant}", self._page, READERS)
        gate.add(app, "GET", "/scenario/{tenant}/diff", self._diff, READERS)
        gate.add(app, "POST", "/scenario/{tenant}/edit", self._edit, EDITORS)
        gate.add(app, "POST", "/scenario/{tenant}/prompt", self._prompt, EDITORS)
        gate.add(app, "POST", "/scenario/{tenant}/publish", self._publish, EDITORS)
        gate.add(app, "POST", "/scenario/{tenant}/revert", self._revert, EDITORS)

    @property
    def verbs(self) -> VerbRegistry:
        if self.prompts.deployment.verbs is not None:
            return self.prompts.deployment.verbs
        if self._verbs is None:  # a deployment built without them (tests): the built-ins
            self._verbs = VerbRegistry()
        return self._verbs

    async def _tenants(self, request: web.Request) -> web.StreamResponse:
        session = request[SESSION_KEY]
        tenants = [t for t in self.prompts.tenants() if session.user.sees(t)]
        return tenant_choice("Scenariusz", "/admin/scenario", tenants, session.user, session.csrf)

    # --- reading ------------------------------------------------------------------

    async def _versions(self, tenant: str) -> tuple[list[FlowVersion], FlowVersion | None]:
        """The history, and the version edits go on: the newest draft newer
        than the live version, else the live one (None: none in the store)."""

        def work() -> tuple[list[FlowVersion], FlowVersion | None]:
            history = self.flows.history(tenant)
            live = next((v for v in history if v.state == PUBLISHED), None)
            draft = next((v for v in history if v.state == DRAFT), None)
            base = draft if draft and (live is None or draft.number > live.number) else live
            return history, None if base is None else self.flows.get(tenant, base.number)

        return await self.prompts.store.run(work)

    async def _page(self, request: web.Request) -> web.StreamResponse:
        session, tenant = request[SESSION_KEY], request.match_info["tenant"]
        served = self.prompts.deployment.tenants.get(tenant)
        if served is None:
            return error_page(404, "Nie ma takiego banku", tenant, session.user)
        history, working = await self._versions(tenant)
        shown = working
        wanted = request.query.get("v", "")
        if wanted.isdigit() and (working is None or int(wanted) != working.number):
            try:
                shown = await self.prompts.store.run(partial(self.flows.get, tenant, int(wanted)))
            except VersionError:
                return error_page(404, "Nie ma takiej wersji", wanted, session.user)
        text = shown.text if shown else served.tenant.flow.read_text(encoding="utf-8")
        try:
            doc = FlowDocument(text)
        except EditError as exc:
            return error_page(500, "Nie da się odczytać przebiegu", str(exc), session.user)
        texts = served.prompts.texts
        found = marks(doc.states, doc.initial, self.verbs, texts)
        problem = shown.problem if shown else None
        editable = session.user.role == "admin" and shown is working
        selected = request.query.get("state", "")
        if selected not in doc.states:
            selected = problem.state if problem and problem.state in doc.states else ""
        svg = scaled(await self._svg(doc, found, shown, problem))
        side = (
            panel(tenant, doc, found, selected, problem, shown, editable, session.csrf,
                  self.verbs, texts, list(served.tenant.queues))
            if selected
            else '<aside id="panel"><p>Kliknij stan na rysunku, aby go zobaczyć i zmienić.</p>'
            "</aside>"
        )  # fmt: skip
        body = "".join(
            [
                STYLE,
                status(tenant, shown, working, problem, request.query, session.csrf,
                             session.user.role == "admin"),
                f'<div class="scenario"><div id="diagram" class="flow">{svg}</div>{side}</div>',
                f'<section id="test-call" data-tenant="{esc(tenant)}" '
                f'data-version="{shown.number if shown else 0}" '
                f'data-hash="{esc(shown.hash) if shown else ""}"></section>',
                # Its panel (Zadzwoń testowo: stasis_app/admin/web/test_call.py), for admins.
                test_call_panel(tenant, session.csrf, version_choices(history))
                if session.user.role == "admin" else "",
                events_table(),
                versions(tenant, history, working, session.csrf, session.user.role),
                f"<style>#node-{selected} path,#node-{selected} polygon"
                "{stroke:#1f4e79;stroke-width:3}</style>"
                if re.fullmatch(r"[A-Za-z0-9_-]+", selected) else "",  # a plain key: CSS-safe
                SCRIPT % {"tenant": json.dumps(tenant), "selected": json.dumps(selected),
                          "version": shown.number if shown else 0},
            ]
        )  # fmt: skip
        return page(f"Scenariusz: {served.tenant.name}", body, session.user, session.csrf)

    async def _svg(
        self,
        doc: FlowDocument,
        found: dict[str, StateMarks],
        shown: FlowVersion | None,
        problem: Problem | None,
    ) -> str:
        key = (shown.hash if shown else "file", problem.state if problem else "")
        if key not in self._svgs:
            dot = to_dot(doc.states, doc.initial, found, key[1])
            try:
                self._svgs[key] = await asyncio.to_thread(inline_svg, dot)
            except (OSError, RuntimeError) as exc:
                return f'<p class="error">Brak rysunku (Graphviz): {esc(str(exc))}</p>'
            if len(self._svgs) > 64:
                self._svgs.pop(next(iter(self._svgs)))
        return self._svgs[key]

    async def _diff(self, request: web.Request) -> web.StreamResponse:
        session, tenant = request[SESSION_KEY], request.match_info["tenant"]
        served = self.prompts.deployment.tenants.get(tenant)
        if served is None:
            return error_page(404, "Nie ma takiego banku", tenant, session.user)
        history, _ = await self._versions(tenant)
        live = next((v for v in history if v.state == PUBLISHED), None)
        old, new = request.query.get("old", ""), request.query.get("new", "")
        if not old.isdigit() and live is not None:
            old = str(live.number)
        if not (old.isdigit() and new.isdigit()):
            return error_page(400, "Zmiany", "Podaj dwie wersje (old, new).", session.user)
        try:
            diff = await self.prompts.store.run(
                partial(self.flows.diff, tenant, int(old), int(new))
            )
        except VersionError as exc:
            return error_page(404, "Nie ma takiej wersji", str(exc), session.user)
        lines = "".join(
            f'<span class="{"add" if line.startswith("+") else "del"}">{esc(line)}</span>'
            if line[:1] in "+-" and not line.startswith(("+++", "---"))
            else esc(line)
            for line in diff.unified.splitlines(keepends=True)
        )
        summary = "".join(
            f"<li>{label}: {esc(', '.join(names))}</li>"
            for label, names in (
                ("nowe stany", diff.added),
                ("usunięte stany", diff.removed),
                ("zmienione stany", diff.changed),
            )
            if names
        )
        body = (
            STYLE + f'<p><a href="{scenario_url(tenant)}">Wróć do scenariusza</a></p>'
            f'<ul id="summary">{summary or "<li>bez zmian w stanach</li>"}</ul>'
            f'<pre class="diff" id="unified">{lines}</pre>'
        )
        return page(f"Zmiany: wersja {old} → {new}", body, session.user, session.csrf)

    # --- changing -------------------------------------------------------------------

    async def _edit(self, request: web.Request) -> web.StreamResponse:
        session, tenant = request[SESSION_KEY], request.match_info["tenant"]
        served = self.prompts.deployment.tenants.get(tenant)
        if served is None:
            return error_page(404, "Nie ma takiego banku", tenant, session.user)
        form = {k: str(v) for k, v in (await request.post()).items()}
        state = form.get("state", "")
        _, working = await self._versions(tenant)
        if str(working.number if working else 0) != form.get("base", "") or (
            working is not None and working.hash != form.get("hash")
        ):
            raise web.HTTPSeeOther(
                scenario_url(tenant, state=state, error="Ktoś zmienił scenariusz w międzyczasie; "
                             "oto jego obecna wersja. Powtórz zmianę.")
            )  # fmt: skip
        text = working.text if working else served.tenant.flow.read_text(encoding="utf-8")
        who = session.user.name
        try:
            doc = FlowDocument(text)
            shown_state, comment = await self._apply(tenant, doc, form, who)
        except (EditError, FormError, PromptAdminError) as exc:
            raise web.HTTPSeeOther(scenario_url(tenant, state=state, error=str(exc))) from None
        except SynthesisError:
            raise web.HTTPSeeOther(
                scenario_url(
                    tenant, state=state, error="Żaden syntezator nie mógł tego wypowiedzieć."
                )
            ) from None
        new_text = doc.text()
        try:
            if working is not None and working.state == DRAFT:
                saved = await self.prompts.store.run(
                    partial(
                        self.flows.update_draft, tenant, working.number, new_text, who,
                        self.prompts.deployment.check_flow, expected_hash=working.hash,
                        comment=comment,
                    )
                )  # fmt: skip
            else:
                saved = await self.prompts.store.run(
                    partial(
                        self.flows.save_draft, tenant, new_text, who,
                        self.prompts.deployment.check_flow, comment=comment, origin="editor",
                        based_on=working.number if working else None,
                    )
                )  # fmt: skip
        except VersionError as exc:
            raise web.HTTPSeeOther(scenario_url(tenant, state=state, error=str(exc))) from None
        message = f"Zapisano szkic {saved.number}." + (
            " Ma błąd: popraw go przed publikacją." if saved.problem else ""
        )
        raise web.HTTPSeeOther(scenario_url(tenant, state=shown_state, msg=message))

    async def _apply(
        self, tenant: str, doc: FlowDocument, form: dict[str, str], who: str
    ) -> tuple[str, str]:
        """Make the posted edit on ``doc``: the state to show after it, and
        the draft's comment."""
        op, state = form.get("op", ""), form.get("state", "")
        spec = doc.state(state)
        if op == "params":
            verb = self.verbs.get(str(spec.get("verb")))
            if "title" in form:
                doc.set_title(state, form["title"])
            if verb is not None:
                values = read(fields(verb.Params), form, dict(spec.get("params") or {}))
                doc.set_params(state, values)
            return state, f"{state}: ustawienia"
        if op == "transitions":
            on = {str(k): str(v) for k, v in (spec.get("on") or {}).items()}
            for event, target in on.items():
                if form.get(f"x.{event}"):
                    doc.remove_option(state, event)
                    continue
                wanted = form.get(f"t.{event}", target)
                if wanted == CONSULTANT or wanted.startswith(CONSULTANT + ":"):
                    doc.to_consultant(state, event, wanted.partition(":")[2] or None)
                elif wanted == WEBHOOK:
                    doc.to_webhook(state, event)
                elif wanted != target:
                    doc.set_target(state, event, wanted)
            for event in on:  # keys last: the moves above name events by their old key
                new = form.get(f"k.{event}", event).strip()
                if KEY.match(event) and not form.get(f"x.{event}") and new != event:
                    doc.change_key(state, event, new)
            return state, f"{state}: przejścia"
        if op in ("add_option", "insert_say"):
            name = " ".join(form.get("name", "").split())
            if not name:
                raise EditError("podaj nazwę")
            if op == "add_option":  # a key that cannot take it: before any prompt is made
                doc.check_free_key(state, form.get("key", ""))
            key = await self._new_prompt(tenant, name, form.get("text", ""), who)
            if op == "add_option":
                doc.add_menu_option(state, form.get("key", ""), name, key)
                return state, f"{state}: opcja {form.get('key')} — {name}"
            new = doc.insert_say(state, form.get("event", ""), key, name)
            return new, f"{state}: komunikat {name}"
        raise EditError(f"nieznana zmiana {op!r}")

    async def _new_prompt(self, tenant: str, name: str, text: str, who: str) -> str:
        """A new prompt of the bank's own, keyed by its name; its key."""
        texts = self.prompts.deployment.tenants[tenant].prompts.texts
        base = slug(name)
        key, n = base, 2
        while key in texts:
            key, n = f"{base}_{n}", n + 1
        await self.prompts.create(tenant, key, text, f"web:{who}")
        return key

    async def _prompt(self, request: web.Request) -> web.StreamResponse:
        session, tenant = request[SESSION_KEY], request.match_info["tenant"]
        form = await request.post()
        state, key = str(form.get("state", "")), str(form.get("key", ""))
        try:
            await self.prompts.set(
                tenant, key, str(form.get("text", "")), who=f"web:{session.user.name}",
                expected=str(form.get("seen", "")),
            )  # fmt: skip
        except StaleEdit as exc:
            error = f"Ktoś zmienił ten komunikat w międzyczasie na „{exc.current}”."
            raise web.HTTPSeeOther(scenario_url(tenant, state=state, error=error)) from None
        except PromptAdminError as exc:
            raise web.HTTPSeeOther(scenario_url(tenant, state=state, error=str(exc))) from None
        except SynthesisError:
            error = "Żaden syntezator nie mógł tego wypowiedzieć."
            raise web.HTTPSeeOther(scenario_url(tenant, state=state, error=error)) from None
        raise web.HTTPSeeOther(
            scenario_url(tenant, state=state, msg="Komunikat zapisany: dzwoniący już go słyszą.")
        )

    async def _publish(self, request: web.Request) -> web.StreamResponse:
        session, tenant = request[SESSION_KEY], request.match_info["tenant"]
        form = await request.post()
        number = str(form.get("number", ""))
        if not number.isdigit():
            return error_page(400, "Nie opublikowano", "Brak numeru wersji.", session.user)
        deployment = self.prompts.deployment
        work = partial(
            self.flows.publish, tenant, int(number), session.user.name, deployment.check_flow,
            str(form.get("hash", "")),
        )  # fmt: skip
        return await self._go_live(tenant, deployment, work, f"Opublikowano wersję {number}.")

    async def _revert(self, request: web.Request) -> web.StreamResponse:
        session, tenant = request[SESSION_KEY], request.match_info["tenant"]
        form = await request.post()
        number = str(form.get("number", ""))
        if not number.isdigit():
            return error_page(400, "Nie przywrócono", "Brak numeru wersji.", session.user)
        deployment = self.prompts.deployment
        work = partial(
            self.flows.revert, tenant, int(number), session.user.name, deployment.check_flow,
            "przywrócona na stronie Scenariusz",
        )  # fmt: skip
        return await self._go_live(tenant, deployment, work, f"Przywrócono wersję {number}.")

    async def _go_live(
        self, tenant: str, deployment: Any, work: Any, done: str
    ) -> web.StreamResponse:
        if tenant not in deployment.tenants:
            raise web.HTTPNotFound()
        try:
            await self.flows.change_live(deployment, work)
        except FlowRejected as exc:
            error = f"Nie opublikowano: {polish(exc.problem.problem)} ({exc.problem.field})."
            raise web.HTTPSeeOther(
                scenario_url(tenant, state=exc.problem.state, error=error)
            ) from None
        except VersionError as exc:
            raise web.HTTPSeeOther(scenario_url(tenant, error=f"Nie opublikowano: {exc}")) from None
        raise web.HTTPSeeOther(
            scenario_url(tenant, msg=done + " Nowe rozmowy już ją dostają; trwające kończą się "
                         "na swojej.")
        )  # fmt: skip
