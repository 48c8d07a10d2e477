"""``route``: branch without asking the caller (Twilio Studio's "Split Based
On..."): on the caller's number, the dialled line, the bank's hours, or a
value collected or returned by the bank. The first branch that holds wins;
none: ``default``.

Each branch is one condition and ``to``, the state it goes to::

    verb: route
    params:
      branches:
        - {caller_in: vip, to: consultant}         # a list of the bank's (routing.lists)
        - {caller: withheld, to: ask_number}       # or an exact number
        - {caller_prefix: ["4822", "4812"], to: city_line}
        - {line_in: integrate, to: webservice}     # the dialled line is on a list
        - {closed: office, to: night}              # routing.hours (holidays are closed)
        - {handed_over: true, to: handover}        # from 828 828 828 (tenants.ID.handover)
        - {value: amount, greater_than: 1000, to: big}   # equals, in, less_than too
        - {feature: several_accounts, to: accounts}  # on for the bank (tenants.ID.features)
      default: main_menu

The names (``vip``, ``office``) are the bank's, under ``routing`` in its
tenant config, so banks on one flow branch each on their own: a bank with
no such hours is open at any hour, one with no such list has it empty.
Each branch's event (what the flow's picture writes on its arrow) is what it
tests, e.g. ``caller in vip``; the flow checker checks every ``to``.
"""

import logging
import os
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from stasis_app.features import FEATURES, feature
from stasis_app.flow.context import CallContext
from stasis_app.flow.handover import handed_over
from stasis_app.verbs.base import Verb, VerbParams

if TYPE_CHECKING:
    from stasis_app.tenants import NumberList, Tenant

log = logging.getLogger(__name__)

NAME = r"^[a-z][a-z0-9_]{0,31}$"
NUMBER = r"^\+?[0-9]{1,20}$"
WITHHELD = "withheld"
CONDITIONS = (
    "caller",
    "caller_prefix",
    "caller_in",
    "line_in",
    "open",
    "closed",
    "value",
    "feature",
    "handed_over",
)
COMPARISONS = ("equals", "in_", "greater_than", "less_than")


class Branch(BaseModel):
    """One way out of a ``route``: exactly one condition, and ``to``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    to: str = Field(description="the state to go to when the condition holds")
    caller: str | None = Field(default=None, description="a number, or 'withheld'")
    caller_prefix: list[str] | None = Field(default=None, description="the number starts so")
    caller_in: str | None = Field(default=None, pattern=NAME, description="a list's name")
    line_in: str | None = Field(default=None, pattern=NAME, description="a list's name")
    open: str | None = Field(default=None, pattern=NAME, description="within these hours")
    closed: str | None = Field(default=None, pattern=NAME, description="outside them")
    value: str | None = Field(default=None, pattern=NAME, description="a value's name")
    handed_over: bool | None = Field(
        default=None, description="true: the call came from 828 828 828 (tenants.ID.handover)"
    )
    equals: str | None = None
    in_: list[str] | None = Field(default=None, alias="in", min_length=1)
    greater_than: Decimal | None = None
    less_than: Decimal | None = None
    feature: str | None = Field(
        default=None, description="on for the bank (tenants.ID.features: stasis_app/features.py)"
    )

    @field_validator("feature")
    @classmethod
    def _known_feature(cls, name: str | None) -> str | None:
        if name is not None:
            feature(name)  # ValueError naming the known ones
        return name

    @field_validator("caller", "equals", mode="before")
    @classmethod
    def _unquoted(cls, given: Any) -> Any:
        # YAML reads an unquoted number as an int: a number is meant.
        return str(given) if isinstance(given, int) and not isinstance(given, bool) else given

    @field_validator("in_", mode="before")
    @classmethod
    def _unquoted_list(cls, given: Any) -> Any:
        if isinstance(given, list):
            return [str(g) if isinstance(g, int) and not isinstance(g, bool) else g for g in given]
        return given

    @field_validator("caller")
    @classmethod
    def _caller(cls, caller: str | None) -> str | None:
        if caller is not None and caller != WITHHELD and not re.fullmatch(NUMBER, caller):
            raise ValueError(f"{caller!r} is neither a phone number nor 'withheld'")
        return caller

    @field_validator("caller_prefix", mode="before")
    @classmethod
    def _prefixes(cls, prefix: Any) -> Any:
        given = [prefix] if isinstance(prefix, str | int) else prefix
        if not isinstance(given, list):
            return given  # pydantic says what is wrong with it
        prefixes = [str(p) for p in given]
        for one in prefixes:
            if not re.fullmatch(NUMBER, one):
                raise ValueError(f"{one!r} is not the start of a phone number")
        return prefixes

    @field_validator("handed_over")
    @classmethod
    def _only_true(cls, handed_over: bool | None) -> bool | None:
        if handed_over is False:
            raise ValueError("handed_over: true is the only test (the default branch is the rest)")
        return handed_over

    @model_validator(mode="after")
    def _one_condition(self) -> "Branch":
        given = [name for name in CONDITIONS if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                f"a branch tests exactly one of {', '.join(CONDITIONS)} (this one: "
                f"{', '.join(given) or 'none'})"
            )
        compared = [name for name in COMPARISONS if getattr(self, name) is not None]
        if given == ["value"] and len(compared) != 1:
            raise ValueError("a value branch has one of equals, in, greater_than, less_than")
        if given != ["value"] and compared:
            raise ValueError(f"{compared[0].rstrip('_')} belongs to a value branch")
        return self

    @property
    def event(self) -> str:
        """What the branch tests, in words: its event and its arrow's label."""
        if self.handed_over:
            return "handed over"
        if self.caller is not None:
            return f"caller {self.caller}"
        if self.caller_prefix is not None:
            return f"caller starts {' or '.join(self.caller_prefix)}"
        if self.caller_in is not None:
            return f"caller in {self.caller_in}"
        if self.line_in is not None:
            return f"line in {self.line_in}"
        if self.open is not None:
            return f"open {self.open}"
        if self.closed is not None:
            return f"closed {self.closed}"
        if self.feature is not None:
            return f"feature {self.feature}"
        if self.equals is not None:
            return f"{self.value} is {self.equals}"
        if self.in_ is not None:
            return f"{self.value} in {' or '.join(self.in_)}"
        if self.greater_than is not None:
            return f"{self.value} over {self.greater_than}"
        return f"{self.value} under {self.less_than}"


class RouteParams(VerbParams):
    branches: list[Branch] = Field(min_length=1, max_length=20)
    default: str = Field(description="the state when no branch holds")

    @model_validator(mode="after")
    def _distinct(self) -> "RouteParams":
        events = [branch.event for branch in self.branches]
        twice = sorted({event for event in events if events.count(event) > 1})
        if twice:
            raise ValueError(f"two branches test {twice[0]!r}: the second never runs")
        return self


def _number(raw: str) -> str:
    return raw.strip().removeprefix("+")


_files: dict[Path, tuple[int, int, frozenset[str]]] = {}


def numbers_of(listed: "NumberList") -> frozenset[str]:
    """The numbers of a bank's list: its own and its file's (read again when
    the file changed; a missing or unreadable file counts as empty, logged)."""
    numbers = {_number(n) for n in listed.numbers}
    if listed.file is None:
        return frozenset(numbers)
    try:
        stat = os.stat(listed.file)
        seen = _files.get(listed.file)
        if seen is None or seen[:2] != (stat.st_mtime_ns, stat.st_size):
            lines = listed.file.read_text(encoding="utf-8").splitlines()
            found = frozenset(
                _number(line.partition("#")[0]) for line in lines if line.partition("#")[0].strip()
            )
            _files[listed.file] = seen = (stat.st_mtime_ns, stat.st_size, found)
        return frozenset(numbers | seen[2])
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("number list unreadable", extra={"file": str(listed.file), "error": str(exc)})
        return frozenset(numbers)


def _in_list(tenant: "Tenant", name: str, number: str) -> bool:
    listed = tenant.routing.lists.get(name)
    return listed is not None and bool(number) and _number(number) in numbers_of(listed)


def _is_open(tenant: "Tenant", name: str) -> bool:
    hours = tenant.routing.hours.get(name)
    return hours is None or hours.is_open()


def _compare(branch: Branch, value: Any) -> bool:
    if value is None or isinstance(value, list | dict):
        return False
    text = str(value)
    if branch.equals is not None:
        return text == branch.equals
    if branch.in_ is not None:
        return text in branch.in_
    try:
        number = Decimal(text)
    except InvalidOperation:
        return False
    if branch.greater_than is not None:
        return number > branch.greater_than
    return branch.less_than is not None and number < branch.less_than


def withheld(caller: str) -> bool:
    """A caller whose number the network did not give ("", anonymous, ...)."""
    return not any(c.isdigit() for c in caller)


def holds(branch: Branch, ctx: CallContext) -> bool:
    """Whether ``branch``'s condition holds for this call now."""
    caller = ctx.call.caller
    if branch.caller is not None:
        if branch.caller == WITHHELD:
            return withheld(caller)
        return not withheld(caller) and _number(caller) == _number(branch.caller)
    if branch.caller_prefix is not None:
        return not withheld(caller) and any(
            _number(caller).startswith(_number(p)) for p in branch.caller_prefix
        )
    if branch.caller_in is not None:
        return not withheld(caller) and _in_list(ctx.tenant, branch.caller_in, caller)
    if branch.line_in is not None:
        return _in_list(ctx.tenant, branch.line_in, ctx.call.line)
    if branch.open is not None:
        return _is_open(ctx.tenant, branch.open)
    if branch.closed is not None:
        return not _is_open(ctx.tenant, branch.closed)
    if branch.feature is not None:
        return FEATURES[branch.feature].is_on(ctx.tenant.features)
    return branch.value is not None and _compare(branch, ctx.values.get(branch.value))


class Route(Verb[RouteParams]):
    """Branch on the caller's number, the line, the bank's hours or a value."""

    name = "route"
    Params = RouteParams

    def transitions(self, params: RouteParams, on: Mapping[str, str]) -> dict[str, str]:
        return {**{b.event: b.to for b in params.branches}, "default": params.default}

    def events(self, params: RouteParams, transitions: Sequence[str]) -> set[str]:
        return {b.event for b in params.branches} | {"default"}

    def features(self, params: RouteParams) -> dict[str, str]:
        return {b.event: b.feature for b in params.branches if b.feature is not None}

    def label(self, params: RouteParams) -> str:
        return f"route: {len(params.branches)} branches"

    async def run(self, ctx: CallContext, params: RouteParams) -> str:
        for branch in params.branches:
            if await handed_over(ctx) if branch.handed_over else holds(branch, ctx):
                log.debug("route", extra={"branch": branch.event})
                return branch.event
        log.debug("route", extra={"branch": "default"})
        return "default"
