"""The side panel's form for a state, made from its verb's parameter schema
(the verb's pydantic ``Params``: types, defaults, limits) and the Polish
labels below: a number field with its bounds, a yes/no box, a choice, a
line of text, a prompt. A param with no simple form (a route's branches) is
shown as written, to change in the file.

:func:`fields` says what the form has, :func:`render` writes it,
:func:`read` turns the posted form back into the values to set (only those
that changed), :func:`polish` says a checker's problem in Polish.
"""

import re
import types
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from stasis_app.admin.web.html import esc
from stasis_app.errors import InfoliniaError

Kind = Literal["int", "float", "bool", "choice", "text", "keys", "prompt", "other"]

# Polish labels (and a short hint) of the built-in verbs' params; a plugin's
# param with none is labelled by its own description.
LABELS: dict[str, tuple[str, str]] = {
    "prompt": ("Komunikat", "co usłyszy dzwoniący"),
    "invalid_prompt": ("Komunikat po złym wyborze", ""),
    "retries": ("Powtórzenia pytania", "ile razy zapytać znowu po złej odpowiedzi lub ciszy"),
    "first_timeout": ("Czas na pierwszy klawisz (s)", ""),
    "between_timeout": ("Czas między klawiszami (s)", ""),
    "repeat": ("Klawisze powtórzenia", "np. 9, *"),
    "into": ("Zapisz jako", "nazwa wartości, np. customer_number"),
    "min_digits": ("Najmniej cyfr", ""),
    "max_digits": ("Najwięcej cyfr", ""),
    "terminator": ("Klawisz kończący", "# lub *; puste: bez"),
    "secret": ("Poufne (PIN, data urodzenia)", "nigdy w logach"),
    "star": ("Gwiazdka zamiast numeru", "* na początku: osobne przejście"),
    "accept": ("Przyjmuj", "digits: cyfry; keys: także *"),
    "barge_in": ("Klawisz przerywa komunikat", ""),
    "unavailable_prompt": ("Komunikat, gdy nikt nie odbierze", ""),
    "closed_prompt": ("Komunikat poza godzinami pracy", ""),
    "queue": ("Kolejka konsultantów", "puste: kolejka banku"),
    "name": ("Operacja", ""),
    "number": ("Numer klienta z wartości", ""),
    "max_failures": ("Błędnych prób na rozmowę", ""),
    "items": ("Lista do wyboru", ""),
    "read_as": ("Czytaj jako", ""),
    "max_items": ("Najwięcej pozycji", ""),
    "to": ("Przejdź do stanu", ""),
    "timeout": ("Czas na odpowiedź serwisu (s)", ""),
    "max_rounds": ("Najwięcej wymian z serwisem", ""),
    "failed_prompt": ("Komunikat, gdy serwis nie odpowie", ""),
    "wait": ("Czas na wybór języka (s)", ""),
    "old": ("Obecny telekod z wartości", ""),
    "new": ("Nowy telekod z wartości", ""),
    "again": ("Powtórzony telekod z wartości", ""),
    "transfer": ("Przelew z wartości", ""),
    "code": ("Kod SMS z wartości", ""),
}
# Set by the operator in the flow file only: shown, never a field.
FILE_ONLY = frozenset({"url", "secret_env", "goto", "branches", "default", "secret"})


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    hint: str
    kind: Kind
    default: Any
    required: bool
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()


def _kind(annotation: Any) -> tuple[Kind, tuple[str, ...], bool]:
    """The form kind of a type, its choices, and whether it may be empty."""
    optional = False
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        optional = len(args) < len(get_args(annotation))
        if len(args) == 1:
            annotation = args[0]
    if annotation is bool:
        return "bool", (), optional
    if annotation is int:
        return "int", (), optional
    if annotation is float:
        return "float", (), optional
    if annotation is str:
        return "text", (), optional
    if get_origin(annotation) is Literal:
        return "choice", tuple(str(a) for a in get_args(annotation)), optional
    if get_origin(annotation) is list:
        (item,) = get_args(annotation) or (Any,)
        if item is str:
            return "keys", (), optional
        if get_origin(item) in (Union, types.UnionType) and str in get_args(item):
            return "prompt", (), optional
    return "other", (), optional


def _bounds(info: FieldInfo) -> tuple[float | None, float | None]:
    low = high = None
    for rule in info.metadata:
        if isinstance(rule, Ge | Gt):
            low = float(rule.ge if isinstance(rule, Ge) else rule.gt)  # type: ignore[arg-type]
        if isinstance(rule, Le | Lt):
            high = float(rule.le if isinstance(rule, Le) else rule.lt)  # type: ignore[arg-type]
    return low, high


def fields(params: type[BaseModel]) -> list[FormField]:
    """The form of a verb's params, in the schema's order."""
    out = []
    for name, info in params.model_fields.items():
        kind, choices, optional = _kind(info.annotation)
        if name in FILE_ONLY:
            kind = "other"
        label, hint = LABELS.get(name, (info.description or name, ""))
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        low, high = _bounds(info)
        out.append(
            FormField(name, label, hint, kind, default, info.is_required() and not optional,
                      low, high, choices)
        )  # fmt: skip
    return out


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def render(form: list[FormField], values: dict[str, Any], problem: tuple[str, str] | None,
           read_only: bool) -> str:  # fmt: skip
    """The fields as HTML (names ``p.<param>``); ``problem``: (param, what is wrong)."""
    rows = []
    off = " disabled" if read_only else ""
    for f in form:
        if f.kind == "prompt":
            continue  # the prompt section of the panel shows and edits those
        value = values.get(f.name, f.default)
        ident = f"p-{f.name}"
        if f.kind == "bool":
            checked = " checked" if value else ""
            control = (
                f'<input type="hidden" name="b.{f.name}" value="">'  # unchecked boxes post nothing
                f'<input type="checkbox" id="{ident}" name="p.{f.name}"{checked}{off}>'
            )
        elif f.kind == "choice":
            options = "".join(
                f"<option{' selected' if c == str(value) else ''}>{esc(c)}</option>"
                for c in f.choices
            )
            control = f'<select id="{ident}" name="p.{f.name}"{off}>{options}</select>'
        elif f.kind in ("int", "float"):
            step = "1" if f.kind == "int" else "0.5"
            limits = "".join(
                f' {attr}="{_shown(bound)}"'
                for attr, bound in (("min", f.low), ("max", f.high))
                if bound is not None
            )
            control = (
                f'<input type="number" id="{ident}" name="p.{f.name}" step="{step}"{limits} '
                f'value="{esc(_shown(value))}"{off}>'
            )
        elif f.kind in ("text", "keys"):
            control = f'<input id="{ident}" name="p.{f.name}" value="{esc(_shown(value))}"{off}>'
        else:
            control = f'<code id="{ident}">{esc(_shown(value))}</code> <small>(w pliku)</small>'
        hint = f' <small class="hint">{esc(f.hint)}</small>' if f.hint else ""
        error = ""
        if problem is not None and problem[0] == f.name:
            error = f'<span class="field-error" id="error-{f.name}">{esc(problem[1])}</span>'
        rows.append(
            f'<p class="field"><label for="{ident}">{esc(f.label)}</label> '
            f'<small class="key">{esc(f.name)}</small><br>{control}{hint}{error}</p>'
        )
    return "".join(rows)


class FormError(InfoliniaError, ValueError):
    """A posted value is not of its field's kind (the message is Polish)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


def read(form: list[FormField], posted: dict[str, str], current: dict[str, Any]) -> dict[str, Any]:
    """The params to set from a posted form: each field on it whose value
    changed (None: back to its default, the param removed; a yes/no box
    counts when its marker ``b.<param>`` was posted). Bounds are the checker's:
    a value out of them is saved and reported there, next to its field."""
    out: dict[str, Any] = {}
    for f in form:
        if f.kind in ("prompt", "other"):
            continue
        if f"p.{f.name}" not in posted and f"b.{f.name}" not in posted:
            continue  # not on the posted form: unchanged
        raw = posted.get(f"p.{f.name}", "").strip()
        value: Any
        if f.kind == "bool":
            value = f"p.{f.name}" in posted
        elif raw == "":
            value = None
        elif f.kind == "int":
            if not re.fullmatch(r"-?\d+", raw):
                raise FormError(f.name, f"„{f.label}”: to musi być liczba całkowita")
            value = int(raw)
        elif f.kind == "float":
            try:
                value = float(raw.replace(",", "."))
            except ValueError:
                raise FormError(f.name, f"„{f.label}”: to musi być liczba") from None
        elif f.kind == "keys":
            value = [part.strip() for part in raw.split(",") if part.strip()]
        else:
            value = raw
        before = current.get(f.name, f.default)
        if value == before:
            continue
        out[f.name] = None if value is None or (value == f.default and f.name not in current) \
            else value  # fmt: skip
    return out


# The checker's words (stasis_app/flow/model.py, pydantic) in Polish.
POLISH: list[tuple[str, str]] = [
    (r"Input should be less than or equal to (\S+)", r"najwyżej \1"),
    (r"Input should be greater than or equal to (\S+)", r"co najmniej \1"),
    (r"Input should be greater than (\S+)", r"więcej niż \1"),
    (r"Input should be less than (\S+)", r"mniej niż \1"),
    (r"Input should be a valid integer.*", "to musi być liczba całkowita"),
    (r"Input should be a valid number.*", "to musi być liczba"),
    (r"Input should be (.+)", r"dozwolone: \1"),
    (r"Field required", "pole wymagane"),
    (r"String should match pattern .*", "niedozwolone znaki"),
    (r"List should have at least 1 item.*", "potrzebny co najmniej jeden komunikat"),
    (r".*min_digits is larger than max_digits",
     "„Najmniej cyfr” jest większe niż „Najwięcej cyfr”"),
    (r"prompt '([^']+)' does not exist", r"nie ma komunikatu \1"),
    (r"goes to '([^']+)', not a state", r"prowadzi do „\1”, a takiego stanu nie ma"),
    (r"no transition for '([^']+)'.*", r"ślepy zaułek: nic się nie dzieje po zdarzeniu „\1”"),
    (r"no path from the initial state reaches it",
     "żadna ścieżka tu nie prowadzi (stan nieosiągalny)"),
    (r"(\S+) never emits '([^']+)'.*", r"ta czynność nie zgłasza zdarzenia „\2”"),
    (r"a menu needs at least one key option.*",
     "menu potrzebuje co najmniej jednej opcji klawisza"),
    (r"key '(.)' is both an option and a repeat key",
     r"klawisz \1 jest i opcją, i powtórzeniem menu"),
    (r".*transfers to queue '([^']+)', which is not defined", r"bank nie ma kolejki \1"),
    (r"calls (\S+) with the key.*", r"serwis \1 nie jest w pliku przebiegu banku"),
    (r"unknown verb '([^']+)'.*", r"nieznana czynność \1"),
    (r"Extra inputs are not permitted", "nieznany parametr"),
    (r"not valid YAML.*", "tekst przebiegu nie jest poprawnym YAML"),
]  # fmt: skip


def polish(problem: str) -> str:
    """The checker's problem in Polish (one it has no words for stays as it is)."""
    for pattern, words in POLISH:
        match = re.fullmatch(pattern, problem.strip(), flags=re.DOTALL)
        if match:
            return match.expand(words)
    return problem
