"""A new bank as the admin page's form gives it, made into the mapping a
bank has under ``tenants:`` in the config file, and checked by the app's
own checker before anything is saved.

The form's fields (their names are what the page posts, and what errors
are keyed by): ``id``, ``name``, ``lines`` (numbers, by commas or spaces),
``adapter`` (one of the installed plugins' adapters) and its settings as
``adapter.<adapter>.<field>``, made from the adapter's own settings schema
(:func:`adapter_fields`), ``days`` / ``open`` / ``close`` (working hours:
the flow's ``office`` hours and the consultant queue's; none given: at any
hour), ``agents`` (the consultant queue's phones, one a line), ``flow`` (a
template: a flow file of the deployment) and ``greeting``.

Secrets: a settings field the adapter marks as a secret's reference
(:data:`adapters.hookspecs.SECRET_ENV`, ``SECRET_FILE``) takes only the name
of an environment variable or an absolute path; a value that is neither is
refused as a literal secret, and so is a reference to a secret of the app
(``INFOLINIA_*`` variables, the audit key's, ARI password's and state
store password's files, ``PGPASSFILE``) or of another bank
(:func:`taken_secrets`). Paths are compared by what they resolve to (and
by the file they name); a path into ``/proc``, ``/dev`` or ``/sys`` is
refused. An adapter with a field taking a secret as its
value is not offered (:func:`offered_adapters`).

Checks, in order, every problem named by its field: the form's own rules;
the bank's model (:class:`stasis_app.tenants.Tenant`, as the config file is
checked: all its problems at once); the id and the numbers against every
bank the deployment has; then the bank built as the app builds it at
start (:func:`stasis_app.deployment.build_deployment`: flow, prompts,
queues, voices, the adapter made with its settings), whose first problem is
named.
"""

import asyncio
import contextlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from adapters.registry import AdapterRegistry
from adapters.spec import CoreBanking
from plugin.registry import Factory
from stasis_app.config import Settings
from stasis_app.deployment import build_deployment
from stasis_app.errors import ConfigError
from stasis_app.store.postgres import STATE_PASSWORD_FILE_ENV
from stasis_app.tenancy.stored import relative_flow
from stasis_app.tenants import DAYS, Tenant

TENANT_ID = re.compile(r"[a-z][a-z0-9_]{1,31}")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
SYSTEM_TREES = ("/proc", "/dev", "/sys")  # no bank's path goes there
APP_VARIABLES = "INFOLINIA_"  # the app's own variables (ARI, audit key, state password...)
QUEUE = "consultants"  # the queue a new bank's consultants serve
MAX_GREETING = 1000  # characters, as any prompt (stasis_app.admin.prompts)
MAX_FIELD = 2000  # characters of any other field
DAY_NAMES = dict(zip(DAYS, ("pon", "wt", "śr", "czw", "pt", "sob", "nd"), strict=True))
Errors = dict[str, str]  # the form's field ('' for the whole bank) -> what is wrong, in Polish


@dataclass(frozen=True)
class SettingField:
    """One field of an adapter's settings form, from its schema."""

    name: str
    label: str
    kind: str  # text, path, number, integer, boolean, choice
    required: bool
    default: str  # as the form shows it ('' when none)
    help: str
    secret: str = ""  # "env" or "file": only a reference to the secret
    choices: tuple[str, ...] = ()


def _plain(prop: Mapping[str, Any]) -> Mapping[str, Any]:
    """A property's schema without ``anyOf [..., null]`` (an optional field)."""
    options = [p for p in prop.get("anyOf", []) if p.get("type") != "null"]
    return options[0] if len(options) == 1 else prop


def adapter_fields(factory: Factory[CoreBanking]) -> list[SettingField]:
    """The form's fields of an adapter's settings, in the schema's order."""
    schema = factory.settings.model_json_schema()
    required = set(schema.get("required", []))
    fields = []
    for name, prop in schema.get("properties", {}).items():
        plain = _plain(prop)
        kind = {"number": "number", "integer": "integer", "boolean": "boolean"}.get(
            str(plain.get("type")), "text"
        )
        if plain.get("format") == "path":
            kind = "path"
        choices = tuple(str(c) for c in plain.get("enum", ()))
        if choices:
            kind = "choice"
        default = prop.get("default")
        fields.append(
            SettingField(
                name=name,
                label=str(prop.get("title") or name),
                kind=kind,
                required=name in required,
                default=""
                if default is None
                else str(default).lower()
                if isinstance(default, bool)
                else str(default),
                help=str(prop.get("description", "")),
                secret=str(prop.get("secret", "")),
                choices=choices,
            )
        )
    return fields


def literal_secrets(factory: Factory[CoreBanking]) -> list[str]:
    """The fields of an adapter's settings that take a secret as a value."""
    schema = factory.settings.model_json_schema()
    return [
        name
        for name, prop in schema.get("properties", {}).items()
        if _plain(prop).get("format") == "password" or _plain(prop).get("writeOnly")
    ]


def offered_adapters(registry: AdapterRegistry) -> dict[str, Factory[CoreBanking]]:
    """The installed adapters a bank can be given on the page, by name."""
    return {
        name: factory
        for name in registry.names()
        if not literal_secrets(factory := registry.require(name))
    }


def templates(settings: Settings) -> dict[str, str]:
    """The flows a new bank may start from: the flow files of the config
    file's banks and those in ``flows/`` beside it, as the config file
    names them (relative to its folder), each with a label; the default
    bank flow (``bank.yaml``) first."""
    found = {relative_flow(settings, t.flow) for t in settings.tenants.values()}
    folder = settings.source.parent / "flows"
    if folder.is_dir():
        found |= {relative_flow(settings, path) for path in folder.glob("*.yaml")}
    ordered = sorted(found, key=lambda path: (Path(path).name != "bank.yaml", path))
    return {
        path: "domyślny przebieg banku" if Path(path).name == "bank.yaml" else Path(path).stem
        for path in ordered
    }


def _one(posted: Mapping[str, Any], name: str) -> str:
    value = posted.get(name, "")
    return str(value)[:MAX_FIELD] if value is not None else ""


def _reference(kind: str, value: str) -> str:
    """A secret's reference as compared: ``env:NAME``, ``file:/real/path``
    (what the path resolves to: ``//``, ``..`` and symlinks followed, also
    in the folders of a file not made yet)."""
    return f"env:{value}" if kind == "env" else f"file:{os.path.realpath(value)}"


def _whose_file(value: str, files: Mapping[str, str]) -> str | None:
    """Whose file ``value`` names, of ``files`` (reference -> whose): the
    same path once resolved, or the same file (a hard link, a bind mount)."""
    if whose := files.get(_reference("file", value)):
        return whose
    for reference, whose in files.items():
        if reference.startswith("file:"):
            with contextlib.suppress(OSError):
                if os.path.samefile(value, reference.removeprefix("file:")):
                    return whose
    return None


def _system_path(value: str) -> bool:
    """A path into the kernel's trees (``/proc/self/root/...`` reaches any
    file, ``/dev/fd/N`` an open one): never a bank's file."""
    return any(
        path == tree or path.startswith(f"{tree}/")
        for path in (os.path.normpath("/" + value.lstrip("/")), os.path.realpath(value))
        for tree in SYSTEM_TREES
    )


def _store_password_files() -> list[Path]:
    """The state store's password files: ``$INFOLINIA_STATE_PASSWORD_FILE``
    and libpq's ``$PGPASSFILE`` (else ``~/.pgpass``)."""
    files = [os.environ.get(STATE_PASSWORD_FILE_ENV), os.environ.get("PGPASSFILE")]
    found = [Path(file) for file in files if file]
    if not os.environ.get("PGPASSFILE"):
        with contextlib.suppress(RuntimeError):
            found.append(Path.home() / ".pgpass")
    return found


def taken_secrets(
    settings: Settings,
    adapters: Mapping[str, Factory[CoreBanking]],
    others: Mapping[str, Mapping[str, Any]],
) -> dict[str, str]:
    """The secrets a new bank may not name (reference -> whose): the app's
    own (the ARI password's and the audit key's files; its variables all
    start with ``INFOLINIA_`` and are refused by name) and every other
    bank's, of the file and of the store (``others``: id -> config). A bank
    added on the page must not have the app sign its requests, to an
    address of the admin's choosing, with a key that is not its own."""
    taken = {_reference("file", str(settings.audit.key_file)): "aplikacji (klucz dziennika)"}
    if settings.ari.password_file is not None:
        taken[_reference("file", str(settings.ari.password_file))] = "aplikacji (hasło ARI)"
    for file in _store_password_files():
        taken[_reference("file", str(file))] = "aplikacji (hasło bazy stanu)"
    banks: dict[str, Mapping[str, Any]] = {
        tenant.id: tenant.adapter.model_dump(mode="json") for tenant in settings.tenants.values()
    }
    banks.update({tenant: spec.get("adapter", {}) for tenant, spec in others.items()})
    for tenant, adapter in banks.items():
        factory = adapters.get(str(adapter.get("name")))
        values = adapter.get("settings") or {}
        for field in adapter_fields(factory) if factory is not None else []:
            if field.secret and values.get(field.name):
                taken[_reference(field.secret, str(values[field.name]))] = f"banku {tenant}"
    return taken


def _app_files(settings: Settings) -> set[str]:
    """The app's own files, which no path of a bank's settings may name (a
    demo core's database on the state store would write into it)."""
    files = [settings.audit.key_file, settings.audit.heads_file, settings.ari.password_file]
    files += [settings.prompts, *_store_password_files()]
    if not isinstance(settings.state, str):
        files += [settings.state, *(Path(f"{settings.state}{end}") for end in ("-wal", "-shm"))]
    return {_reference("file", str(file)) for file in files if file is not None}


def _settings_values(
    factory: Factory[CoreBanking],
    adapter: str,
    posted: Mapping[str, Any],
    errors: Errors,
    taken: Mapping[str, str],
    app_files: set[str],
) -> dict[str, Any]:
    """The adapter's settings from the form, checked by its own schema
    (all its problems, each next to its field); a secret's field takes
    only a reference, and not one the app or another bank uses."""
    given: dict[str, Any] = {}
    for field in adapter_fields(factory):
        key = f"adapter.{adapter}.{field.name}"
        value = _one(posted, key).strip()
        if not value:
            continue
        if field.secret == "env" and not ENV_NAME.fullmatch(value):
            errors[key] = (
                "tu wpisz nazwę zmiennej środowiskowej z sekretem (np. BANK_KEY), nie sam sekret"
            )
            continue
        if field.secret == "file" and not Path(value).is_absolute():
            errors[key] = "tu wpisz pełną ścieżkę pliku z sekretem (od /), nie sam sekret"
            continue
        if field.secret == "env" and value.upper().startswith(APP_VARIABLES):
            errors[key] = f"zmienne {APP_VARIABLES}* są aplikacji, nie banku: wybierz inną"
            continue
        if (field.secret == "file" or field.kind == "path") and _system_path(value):
            errors[key] = "ścieżki w /proc, /dev i /sys są systemu, nie banku: wybierz inną"
            continue
        whose = (
            taken.get(_reference("env", value))
            if field.secret == "env"
            else _whose_file(value, taken)
            if field.secret == "file"
            else None
        )
        if whose:
            errors[key] = f"to sekret {whose}: nowy bank ma mieć własny"
            continue
        if field.kind == "path" and _whose_file(value, dict.fromkeys(app_files, "app")):
            errors[key] = "to plik aplikacji, nie banku: wybierz inny"
            continue
        if field.kind == "boolean":
            given[field.name] = value in ("true", "tak", "on", "1")
        else:
            given[field.name] = value
    try:
        validated: BaseModel = factory.settings(**given)
    except ValidationError as exc:
        for problem in exc.errors():
            where = ".".join(str(p) for p in problem["loc"])
            key = f"adapter.{adapter}.{where}" if where else "adapter"
            errors.setdefault(key, problem["msg"].removeprefix("Value error, "))
        return given
    return validated.model_dump(mode="json", exclude_unset=True)


def spec_from_form(
    posted: Mapping[str, Any],
    settings: Settings,
    adapters: Mapping[str, Factory[CoreBanking]],
    others: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[str, dict[str, Any], Errors]:
    """The bank's id and its config (the config file's shape) from the
    form's fields, and the problems the form's own rules find; ``others``:
    the store's other banks (id -> config), whose secrets it may not name."""
    errors: Errors = {}
    tenant = _one(posted, "id").strip()
    if not TENANT_ID.fullmatch(tenant):
        errors["id"] = "od 2 do 32 znaków: małe litery, cyfry i _, na początku litera"
    name = " ".join(_one(posted, "name").split())
    lines = [n for n in re.split(r"[\s,;]+", _one(posted, "lines")) if n]
    if not lines:
        errors["lines"] = "podaj co najmniej jeden numer"
    adapter = _one(posted, "adapter")
    adapter_settings: dict[str, Any] = {}
    if adapter not in adapters:
        errors["adapter"] = f"wybierz jeden z zainstalowanych adapterów: {', '.join(adapters)}"
    else:
        taken = taken_secrets(settings, adapters, others or {})
        adapter_settings = _settings_values(
            adapters[adapter], adapter, posted, errors, taken, _app_files(settings)
        )
    flow = _one(posted, "flow")
    if flow not in templates(settings):
        errors["flow"] = "wybierz szablon przebiegu z listy"
    greeting = " ".join(_one(posted, "greeting").split())
    if not greeting or len(greeting) > MAX_GREETING:
        errors["greeting"] = f"powitanie ma od 1 do {MAX_GREETING} znaków"
    spec: dict[str, Any] = {
        "name": name,
        "lines": lines,
        "flow": flow,
        "adapter": {"name": adapter, "settings": adapter_settings},
        "prompts": {"greeting": greeting},
    }
    hours = _hours(posted, errors)
    agents = [a for a in re.split(r"[\s,;]+", _one(posted, "agents")) if a]
    if agents:
        queue: dict[str, Any] = {"agents": agents}
        if hours is not None:
            queue["hours"] = hours
        spec["queues"] = {QUEUE: queue}
        spec["consultant"] = {"queue": QUEUE}
    if hours is not None:
        spec["routing"] = {"hours": {"office": hours}}
    return tenant, spec, errors


def _hours(posted: Mapping[str, Any], errors: Errors) -> dict[str, Any] | None:
    opening, closing = _one(posted, "open").strip(), _one(posted, "close").strip()
    days = [day for day in DAYS if _one(posted, f"day.{day}")]
    if not opening and not closing:
        return None  # at any hour
    if not opening or not closing:
        errors["hours"] = "podaj godzinę otwarcia i zamknięcia (albo żadnej: całą dobę)"
        return None
    return {"days": days, "open": opening, "close": closing}


def form_from_spec(tenant: str, spec: Mapping[str, Any]) -> dict[str, str]:
    """The form's fields of a stored bank (to change it)."""
    adapter = spec.get("adapter", {})
    values = {
        "id": tenant,
        "name": str(spec.get("name", "")),
        "lines": ", ".join(spec.get("lines", [])),
        "adapter": str(adapter.get("name", "")),
        "flow": str(spec.get("flow", "")),
        "greeting": str(spec.get("prompts", {}).get("greeting", "")),
        "agents": "\n".join(spec.get("queues", {}).get(QUEUE, {}).get("agents", [])),
    }
    for key, value in adapter.get("settings", {}).items():
        values[f"adapter.{values['adapter']}.{key}"] = "" if value is None else str(value)
    hours = spec.get("routing", {}).get("hours", {}).get("office")
    if hours:
        values["open"], values["close"] = str(hours["open"]), str(hours["close"])
        values.update({f"day.{day}": "on" for day in hours.get("days", [])})
    return values


def form_field(field: str, adapter: str) -> str:
    """The form's field a problem of the bank's config (``lines.0``,
    ``adapter.settings.base_url``, ``queues.consultants.hours``) is shown next to."""
    parts = field.split(".")
    if "hours" in parts:
        return "hours"
    head = parts[0]
    if head == "adapter":
        rest = [p for p in parts[1:] if p not in ("settings", "adapter_settings")]
        return f"adapter.{adapter}.{rest[0]}" if rest else "adapter"
    if head == "adapter_settings":
        return f"adapter.{adapter}.{parts[1]}" if len(parts) > 1 else "adapter"
    if head in ("queues", "consultant"):
        return "agents"
    if head == "prompts":
        return "greeting"
    return head if head in ("id", "name", "lines", "flow") else ""


def _model_errors(tenant: str, spec: Mapping[str, Any], errors: Errors) -> Tenant | None:
    adapter = str(spec["adapter"]["name"])
    try:
        return Tenant(**{**spec, "id": tenant})
    except ValidationError as exc:
        for problem in exc.errors():
            where = ".".join(str(p) for p in problem["loc"])
            errors.setdefault(
                form_field(where, adapter), problem["msg"].removeprefix("Value error, ")
            )
        return None


async def check_bank(
    settings: Settings,
    tenant: str,
    spec: dict[str, Any],
    lines_in_use: Mapping[str, str],
    ids_in_use: set[str],
    errors: Errors,
) -> None:
    """Check a bank before it is saved, adding its problems to ``errors``
    (by field): ``settings`` are the config file's (its prompts, voices,
    plugins), ``lines_in_use`` the numbers of every other bank (file and
    store) and whose, ``ids_in_use`` the ids taken (empty when changing a
    bank: its own stays)."""
    if tenant in ids_in_use:
        errors.setdefault("id", f"bank o identyfikatorze {tenant} już jest")
    for line in spec.get("lines", []):
        if line in lines_in_use and lines_in_use[line] != tenant:
            errors.setdefault("lines", f"numer {line} ma już bank {lines_in_use[line]}")
    model = _model_errors(tenant, spec, errors)
    if errors or model is None:
        return
    flow = model.flow if model.flow.is_absolute() else settings.source.parent / model.flow
    one = settings.model_copy(update={"tenants": {tenant: model.model_copy(update={"flow": flow})}})
    try:
        deployment = await asyncio.to_thread(build_deployment, one)
    except ConfigError as exc:
        prefix = f"tenants.{tenant}."
        inside = exc.field.startswith(prefix)
        field = form_field(exc.field.removeprefix(prefix), str(spec["adapter"]["name"]))
        if not inside:  # the flow file's own problem (states.menu.on.3), or the deployment's
            field = "flow" if Path(exc.file).resolve() == flow.resolve() else ""
        if field == "adapter":  # made with its settings: a key's variable or file it names
            adapter = str(spec["adapter"]["name"])
            for name, value in spec["adapter"]["settings"].items():
                if isinstance(value, str) and value and value in exc.problem:
                    field = f"adapter.{adapter}.{name}"
        errors[field] = exc.problem if inside else f"{exc.field}: {exc.problem}"
        return
    for served in deployment.tenants.values():
        await served.bank.close()  # made to check it: the app makes its own
