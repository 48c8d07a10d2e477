"""The banks page (role admin): every bank of the deployment and where it
came from (the config file, or added on this page: by whom, when), and for
a deployment admin (an admin of every bank, ``*``) a new bank: name,
numbers, core-banking adapter with its settings (a form made from the
adapter's own schema; secrets only as references), working hours, the
consultant queue and its phones, a flow template and the greeting. Every
field is checked by the app's own checker before the bank is saved
(:mod:`stasis_app.tenancy.form`), each problem next to its field.

Saved in the state store (:mod:`stasis_app.tenancy.stored`), the bank is
served by this node before the answer comes back (its prompts rendered
first) and by every other node within a second. A stored bank can be
changed here the same way; a bank of the config file is changed there.
Every save, and every refused one, is in the audit trail
(``tenant_add``, ``tenant_change``: who, which bank, its numbers).

    GET  /admin/tenants                 the banks, where each came from
    GET  /admin/tenants/new             the form (deployment admins)
    POST /admin/tenants                 add the bank (303 to it; 422: the form, with problems)
    GET  /admin/tenants/{tenant}        one bank: where from, its config; a stored one's form
    POST /admin/tenants/{tenant}        change a stored bank (its revision: 409 when stale)
"""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import yaml
from aiohttp import web

from adapters.registry import AdapterRegistry
from stasis_app.admin.prompts import PromptAdmin
from stasis_app.admin.web.accounts import Session
from stasis_app.admin.web.auth import SESSION_KEY, Gate
from stasis_app.admin.web.html import csrf_field, error_page, esc, page
from stasis_app.config import Settings
from stasis_app.safeguards.audit import AuditLog
from stasis_app.tenancy.form import (
    DAY_NAMES,
    Errors,
    adapter_fields,
    check_bank,
    form_from_spec,
    offered_adapters,
    spec_from_form,
    templates,
)
from stasis_app.tenancy.stored import (
    Origin,
    StaleTenant,
    TenantStore,
    TenantStoreError,
    file_entry,
    origins,
)

SCRIPT = """<script>
// Only the chosen adapter's settings are shown (without JS: all, each titled).
(() => {
  const choice = document.getElementById('adapter');
  const show = () => document.querySelectorAll('fieldset[data-adapter]').forEach(
    (box) => { box.hidden = box.dataset.adapter !== choice.value; });
  choice.addEventListener('change', show); show();
})();
</script>"""


@dataclass
class BankSite:
    """What the banks page needs of the running app."""

    store: TenantStore
    file_settings: Callable[[], Settings]  # the config file's settings, as running
    left_out: Callable[[], Mapping[str, str]]  # stored banks this node leaves out: why
    adopt: Callable[[], Awaitable[object]] | None = None  # serve the store's banks now


def _deployment_admin(session: Session) -> bool:
    return session.user.role == "admin" and session.user.tenant == "*"


def _origin_text(origin: Origin) -> str:
    if origin.kind == "file":
        return f"z pliku {esc(origin.where)}"
    said = f"dodany na stronie: {esc(origin.created_by)}, {esc(origin.created_at)}"
    if origin.changed_at != origin.created_at:
        said += f"; zmieniony: {esc(origin.changed_by)}, {esc(origin.changed_at)}"
    if origin.problem:
        said += f'<br><span class="bad">nie działa na tym węźle: {esc(origin.problem)}</span>'
    return said


class TenantPages:
    def __init__(self, prompts: PromptAdmin, site: BankSite) -> None:
        self.prompts = prompts  # its deployment is the one serving calls
        self.site = site
        self.store = site.store.store

    def routes(self, app: web.Application, gate: Gate) -> None:
        gate.add(app, "GET", "/tenants", self._list, ["admin"])
        gate.add(app, "GET", "/tenants/new", self._new, ["admin"])
        gate.add(app, "POST", "/tenants", self._add, ["admin"])
        gate.add(app, "GET", "/tenants/{tenant}", self._show, ["admin"])
        gate.add(app, "POST", "/tenants/{tenant}", self._change, ["admin"])

    async def _origins(self) -> dict[str, Origin]:
        stored = await self.store.run(self.site.store.all)
        return origins(self.site.file_settings(), stored, self.site.left_out())

    async def _list(self, request: web.Request) -> web.StreamResponse:
        session = request[SESSION_KEY]
        found = await self._origins()
        stored = {b.id: b for b in await self.store.run(self.site.store.all)}
        served = self.prompts.deployment.tenants
        rows = []
        for tenant, origin in found.items():
            if not session.user.sees(tenant):
                continue
            if tenant in served:
                config = served[tenant].tenant
                name, lines, adapter = config.name, config.lines, config.adapter.name
            else:
                spec = stored[tenant].spec if tenant in stored else {}
                name, lines = str(spec.get("name", "")), list(spec.get("lines", []))
                adapter = str(spec.get("adapter", {}).get("name", ""))
            rows.append(
                f'<tr id="tenant-{esc(tenant)}"><td><a href="/admin/tenants/{quote(tenant)}">'
                f"{esc(tenant)}</a></td><td>{esc(name)}</td><td>{esc(', '.join(lines))}</td>"
                f"<td>{esc(adapter)}</td><td>{_origin_text(origin)}</td></tr>"
            )
        add = (
            '<p><a href="/admin/tenants/new">Dodaj bank</a></p>'
            if _deployment_admin(session)
            else ""
        )
        body = (
            add + '<table id="tenants"><tr><th>Bank</th><th>Nazwa</th><th>Numery</th>'
            f"<th>Adapter</th><th>Skąd</th></tr>{''.join(rows)}</table>"
        )
        return page("Banki", body, session.user, session.csrf)

    def _form(
        self,
        session: Session,
        values: Mapping[str, str],
        errors: Errors,
        action: str,
        revision: int | None = None,
    ) -> str:
        settings = self.site.file_settings()
        adapters = offered_adapters(AdapterRegistry())

        def problem(field: str) -> str:
            if field not in errors:
                return ""
            return f'<span class="error" id="error-{esc(field)}">{esc(errors[field])}</span>'

        def text(field: str, label: str, help_: str = "", kind: str = "text") -> str:
            value = esc(values.get(field, ""))
            extra = f"<br><small>{esc(help_)}</small>" if help_ else ""
            return (
                f'<p><label>{esc(label)}<br><input name="{esc(field)}" type="{kind}" '
                f'value="{value}" size="50"></label>{extra} {problem(field)}</p>'
            )

        chosen = values.get("adapter") or next(iter(adapters), "")
        options = "".join(
            f'<option value="{esc(name)}"{" selected" if name == chosen else ""}>'
            f"{esc(name)}: {esc(factory.description)}</option>"
            for name, factory in adapters.items()
        )
        boxes = []
        for name, factory in adapters.items():
            fields = []
            for field in adapter_fields(factory):
                key = f"adapter.{name}.{field.name}"
                help_ = field.help
                if field.secret == "env":
                    help_ = f"nazwa zmiennej środowiskowej, nie sekret ({help_})"
                elif field.secret == "file":
                    help_ = f"ścieżka pliku z sekretem, nie sekret ({help_})"
                if field.default:
                    help_ += f"; domyślnie {field.default}"
                star = " *" if field.required else ""
                fields.append(text(key, f"{field.label} ({field.name}){star}", help_))
            boxes.append(
                f'<fieldset data-adapter="{esc(name)}"><legend>Ustawienia adaptera '
                f"{esc(name)}</legend>{''.join(fields)}</fieldset>"
            )
        flows = "".join(
            f'<option value="{esc(path)}"{" selected" if path == values.get("flow") else ""}>'
            f"{esc(label)} ({esc(path)})</option>"
            for path, label in templates(settings).items()
        )
        days = " ".join(
            f'<label><input type="checkbox" name="day.{day}"'
            f"{' checked' if values.get(f'day.{day}') else ''}> {short}</label>"
            for day, short in DAY_NAMES.items()
        )
        identity = (
            text("id", "Identyfikator banku (w adresach i dziennikach)", "np. krosno")
            if revision is None
            else f'<input type="hidden" name="id" value="{esc(values.get("id", ""))}">'
            f'<input type="hidden" name="revision" value="{revision}">'
        )
        agents = esc(values.get("agents", ""))
        return (
            f"{problem('')}"
            f'<form method="post" action="{esc(action)}" id="tenant-form">'
            f"{csrf_field(session.csrf)}{identity}"
            + text("name", "Nazwa banku", "np. Bank Spółdzielczy w Krośnie")
            + text("lines", "Numery wybierane przez dzwoniących", "np. 150, 151")
            + f'<p><label>Adapter systemu bankowego<br><select name="adapter" id="adapter">'
            f"{options}</select></label> {problem('adapter')}</p>{''.join(boxes)}"
            f"<h2>Godziny pracy konsultantów</h2><p>{days}</p>"
            + text("open", "Od", "np. 08:00; puste: całą dobę", "time")
            + text("close", "Do", "np. 16:00", "time")
            + f"<p>{problem('hours')}</p>"
            "<h2>Konsultanci</h2>"
            f"<p><label>Telefony konsultantów w kolejce (jeden w wierszu)<br><textarea "
            f'name="agents" rows="3">{agents}</textarea></label><br><small>np. PJSIP/anna; '
            f"puste: bez kolejki, połączenia do konsultanta idą do planu numeracji</small> "
            f"{problem('agents')}</p>"
            f'<h2>Przebieg rozmowy</h2><p><label>Szablon<br><select name="flow">{flows}'
            f"</select></label> {problem('flow')}</p>"
            f'<p><label>Powitanie<br><textarea name="greeting" rows="2">'
            f"{esc(values.get('greeting', ''))}</textarea></label> {problem('greeting')}</p>"
            "<p><button>Zapisz bank</button></p></form>" + SCRIPT
        )

    async def _new(self, request: web.Request) -> web.StreamResponse:
        session = request[SESSION_KEY]
        if not _deployment_admin(session):
            return error_page(403, "Brak dostępu", "Bank dodaje administrator wszystkich banków.")
        flows = templates(self.site.file_settings())
        values = {"flow": next(iter(flows), "")}
        body = self._form(session, values, {}, "/admin/tenants")
        return page("Nowy bank", body, session.user, session.csrf)

    async def _add(self, request: web.Request) -> web.StreamResponse:
        return await self._save(request, None)

    async def _change(self, request: web.Request) -> web.StreamResponse:
        tenant = request.match_info["tenant"]
        current = await self.store.run(lambda: self.site.store.get(tenant))
        if current is None:
            session = request[SESSION_KEY]
            message = f"{tenant} (bank z pliku zmienia się w pliku)"
            return error_page(404, "Nie ma takiego banku na stronie", message, session.user)
        return await self._save(request, tenant)

    async def _save(self, request: web.Request, changing: str | None) -> web.StreamResponse:
        session = request[SESSION_KEY]
        if not _deployment_admin(session):
            return error_page(403, "Brak dostępu", "Bank dodaje administrator wszystkich banków.")
        posted = await request.post()
        form = {key: str(value) for key, value in posted.items() if key != "csrf"}
        if changing is not None:
            form["id"] = changing
        settings = self.site.file_settings()
        adapters = offered_adapters(AdapterRegistry())
        stored = await self.store.run(self.site.store.all)
        others = {bank.id: bank.spec for bank in stored if bank.id != changing}
        tenant, spec, errors = spec_from_form(form, settings, adapters, others)
        if not spec["name"]:
            errors["name"] = "podaj nazwę banku"
        lines_in_use = {line: t.id for t in settings.tenants.values() for line in t.lines}
        ids_in_use = set(settings.tenants)
        for bank in stored:
            if bank.id != changing:
                ids_in_use.add(bank.id)
                lines_in_use.update(dict.fromkeys(map(str, bank.spec.get("lines", [])), bank.id))
        if changing is not None:
            ids_in_use.discard(changing)
        if not errors:
            await check_bank(settings, tenant, spec, lines_in_use, ids_in_use, errors)
        revision = None
        if changing is not None:
            try:
                revision = int(form.get("revision", ""))
            except ValueError:
                errors.setdefault("", "brak wersji banku w formularzu: otwórz go ponownie")
        status = 422
        if not errors:
            try:
                await self.store.run(
                    lambda: self.site.store.save(
                        tenant, spec, session.user.name, settings.tenants,
                        expected_revision=revision,
                    )
                )  # fmt: skip
            except StaleTenant as exc:
                errors[""], status = str(exc), 409
            except TenantStoreError as exc:
                errors[exc.field] = str(exc)
        action = "tenant_change" if changing is not None else "tenant_add"
        audit = AuditLog(self.store)
        if errors:
            await audit.record(
                tenant=tenant or "*",
                action=action,
                result="refused",
                detail={"user": session.user.name, "fields": sorted(errors)},
            )
            title = f"Bank {changing}" if changing else "Nowy bank"
            target = f"/admin/tenants/{quote(changing)}" if changing else "/admin/tenants"
            response = page(
                title, self._form(session, form, errors, target, revision), session.user,
                session.csrf,
            )  # fmt: skip
            response.set_status(status)
            return response
        await audit.record(
            tenant=tenant,
            action=action,
            result="ok",
            detail={
                "user": session.user.name,
                "lines": spec["lines"],
                "adapter": spec["adapter"]["name"],
                "flow": spec["flow"],
            },
        )
        if self.site.adopt is not None:  # served here before the answer; other nodes follow
            await self.site.adopt()
        raise web.HTTPSeeOther(f"/admin/tenants/{quote(tenant)}")

    async def _show(self, request: web.Request) -> web.StreamResponse:
        session, tenant = request[SESSION_KEY], request.match_info["tenant"]
        found = await self._origins()
        origin = found.get(tenant)
        if origin is None:
            return error_page(404, "Nie ma takiego banku", tenant, session.user)
        served = self.prompts.deployment.tenants.get(tenant)
        stored = await self.store.run(lambda: self.site.store.get(tenant))
        settings = self.site.file_settings()
        if stored is not None and origin.kind == "store":
            spec: dict[str, Any] = stored.spec
        else:
            spec = file_entry(settings, settings.tenants[tenant])
        if served is not None:
            numbers = esc(", ".join(served.tenant.lines))
            state = f'<p class="ok" id="tenant-state">Odbiera na numerach {numbers}.</p>'
        else:
            state = '<p class="bad" id="tenant-state">Nie odbiera na tym węźle.</p>'
        body = (
            f'<p id="tenant-origin">Skąd: {_origin_text(origin)}</p>{state}'
            "<h2>Ustawienia (jak w pliku konfiguracyjnym)</h2>"
            f"<pre>{esc(yaml.safe_dump({tenant: spec}, allow_unicode=True, sort_keys=False))}</pre>"
        )
        if origin.kind == "store" and stored is not None and _deployment_admin(session):
            body += "<h2>Zmień bank</h2>" + self._form(
                session,
                form_from_spec(tenant, stored.spec),
                {},
                f"/admin/tenants/{quote(tenant)}",
                stored.revision,
            )
        name = served.tenant.name if served is not None else str(spec.get("name", tenant))
        return page(f"Bank: {name}", body, session.user, session.csrf)
