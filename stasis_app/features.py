"""A bank's optional services (issue 21) and the check that a bank's flow
runs only the optional adapter operations its adapter offers.

A **feature** is a piece of the line a bank turns on in its config
(``tenants.ID.features``): choosing among several accounts, the bank's
information message, exchange rates. Each needs some optional adapter
operations (:class:`adapters.spec.OptionalOperation`). A flow offers a
feature behind a guard: a menu option (``menu``'s ``extras``) or a
``route`` branch (``{feature: NAME, to: STATE}``) that is taken only when the
feature is on for the calling bank (and, for the information message, before
its ``until`` date).

The checker (:func:`check_operations`) follows a bank's flow from its first
state, not through the guards of features the bank has off, and refuses a
state it reaches that runs an optional operation the bank's adapter does not
offer, naming the file, the state and the field. A bank that turns a feature
on whose operations its adapter does not offer is refused at start
(:func:`check_features`, naming ``tenants.ID.features.NAME``).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from adapters.spec import OptionalOperation
from stasis_app.errors import ConfigError

if TYPE_CHECKING:
    from stasis_app.flow.model import Flow

BANK_TIME = ZoneInfo("Europe/Warsaw")  # whose day the information's "until" is
# The currencies exchange rates can be read for: each has a prompt currency_<code>
# (stasis_app/flow/speech.py speaks them).
CURRENCIES = ("EUR", "USD", "GBP", "CHF", "CZK", "NOK", "SEK", "DKK", "UAH")


class BankInformationSettings(BaseModel):
    """``features.bank_information``: the bank's own message (the prompt
    ``bank_information``, edited or recorded on the admin page)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    until: date | None = Field(
        None, description="the last day the option is offered (Polish time); none: no end"
    )


class ExchangeRatesSettings(BaseModel):
    """``features.exchange_rates``: which currencies of the adapter's table are read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    currencies: list[str] = Field(min_length=1, max_length=9, description="ISO codes, in order")

    @field_validator("currencies")
    @classmethod
    def _iso_codes(cls, codes: list[str]) -> list[str]:
        for code in codes:
            if code not in CURRENCIES:
                raise ValueError(
                    f"{code!r}: rates can be read for {', '.join(CURRENCIES)} (ISO codes; "
                    "each has a prompt currency_<code>)"
                )
        if len(set(codes)) != len(codes):
            raise ValueError("a currency is named twice")
        return codes


class Features(BaseModel):
    """``tenants.ID.features``: the optional services the bank's line offers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    several_accounts: bool = Field(
        False, description="a customer with several accounts chooses one (kind, last digits)"
    )
    bank_information: BankInformationSettings | None = None
    exchange_rates: ExchangeRatesSettings | None = None
    predefined_transfers: bool = Field(
        False, description="predefined transfers paid with a one-time SMS code (needs sms)"
    )
    change_telekod: bool = Field(False, description="callers change their telekod")


def today_in_bank() -> date:
    return datetime.now(BANK_TIME).date()


@dataclass(frozen=True)
class Feature:
    """One optional service: the adapter operations it needs, whether a bank's
    config turns it on, and whether it is on at a given day."""

    requires: frozenset[OptionalOperation]
    configured: Callable[[Features], bool]
    on_day: Callable[[Features, date], bool] = lambda features, day: True

    def is_on(self, features: Features, day: date | None = None) -> bool:
        """On for a bank with ``features`` on ``day`` (default: today, Polish time)."""
        if not self.configured(features):
            return False
        return self.on_day(features, day or today_in_bank())


def _information_on(features: Features, day: date) -> bool:
    info = features.bank_information
    return info is not None and (info.until is None or day <= info.until)


FEATURES: dict[str, Feature] = {
    "several_accounts": Feature(
        frozenset(
            {
                OptionalOperation.ACCOUNT_LIST,
                OptionalOperation.ACCOUNT_BALANCE,
                OptionalOperation.ACCOUNT_OPERATIONS,
            }
        ),
        configured=lambda features: features.several_accounts,
    ),
    "bank_information": Feature(
        frozenset(),
        configured=lambda features: features.bank_information is not None,
        on_day=_information_on,
    ),
    "exchange_rates": Feature(
        frozenset({OptionalOperation.EXCHANGE_RATES}),
        configured=lambda features: features.exchange_rates is not None,
    ),
    "predefined_transfers": Feature(
        frozenset({OptionalOperation.PREDEFINED_TRANSFERS, OptionalOperation.EXECUTE_TRANSFER}),
        configured=lambda features: features.predefined_transfers,
    ),
    "change_telekod": Feature(
        frozenset({OptionalOperation.CHANGE_TELEKOD}),
        configured=lambda features: features.change_telekod,
    ),
}


def feature(name: str) -> Feature:
    """The feature ``name`` (ValueError naming the known ones: a flow's typo)."""
    found = FEATURES.get(name)
    if found is None:
        raise ValueError(f"no feature {name!r} (known: {', '.join(sorted(FEATURES))})")
    return found


def check_features(
    source: str, tenant_id: str, features: Features, adapter: str, offers: frozenset[str]
) -> None:
    """A bank turns on only features whose operations its adapter offers."""
    for name, item in FEATURES.items():
        missing = sorted(item.requires - offers)
        if item.configured(features) and missing:
            raise ConfigError(
                source,
                f"tenants.{tenant_id}.features.{name}",
                f"needs the adapter operation {missing[0]!r}, which the adapter "
                f"{adapter!r} does not offer (it offers: {_listed(offers)})",
            )


def check_operations(
    where: str, flow: "Flow", features: Features, adapter: str, offers: frozenset[str]
) -> None:
    """Every state the flow can reach for this bank (not through the guards
    of features it has off) runs only optional operations ``offers`` holds."""
    seen = {flow.initial}
    todo = [flow.initial]
    while todo:
        state = flow.states[todo.pop()]
        needed = sorted(set(state.verb.adapter_operations(state.params)) - offers)
        if needed:
            field = "params.name" if "name" in type(state.params).model_fields else "verb"
            raise ConfigError(
                where,
                f"states.{state.name}.{field}",
                f"runs the adapter operation {needed[0]!r}, which the bank's adapter "
                f"{adapter!r} does not offer (it offers: {_listed(offers)}); reach the "
                "state only through a menu option or route branch of a feature the "
                "bank turns on (docs/flows.md, Optional services)",
            )
        guards = state.verb.features(state.params)
        for event, target in state.on.items():
            guard = guards.get(event)
            if guard is not None and not feature(guard).configured(features):
                continue
            if target not in seen:
                seen.add(target)
                todo.append(target)


def _listed(offers: frozenset[str]) -> str:
    return ", ".join(sorted(offers)) or "none"
