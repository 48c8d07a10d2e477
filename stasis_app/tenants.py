"""Tenants: the banks one deployment serves, each with its lines, flow,
adapter, prompt overrides, consultant route and what its flows' ``route``
states branch on (named hours, lists of numbers)."""

import re
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from stasis_app.features import Features


class AdapterChoice(BaseModel):
    """Which core-banking adapter a tenant uses, and its settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    settings: dict[str, Any] = Field(default_factory=dict)
    timeout: float = Field(default=5.0, gt=0, description="seconds per adapter call")


class EngineChoice(BaseModel):
    """One TTS engine of a chain, and its settings (checked by the engine's own schema)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        description="a registered engine: espeak-ng, gtts, piper (a bank's offline "
        "Piper voice), or a plugin's"
    )
    settings: dict[str, Any] = Field(default_factory=dict)


class VoiceChoice(BaseModel):
    """A tenant's own chain of TTS engines, instead of the deployment's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    engines: list[EngineChoice] = Field(
        min_length=1, description="in order of preference; the next speaks when one fails"
    )


class LanguageOffer(BaseModel):
    """A language a bank offers its callers besides Polish: the key that picks
    it at the greeting and the words offering it (played in that language
    after the greeting: "Для української мови натисніть 8.")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=r"^[0-9*#]$", description="the key at the greeting that picks it")
    offer: str = Field(
        min_length=1, max_length=300, description="the words offering it, in that language"
    )
    prompts: dict[str, str] = Field(
        default_factory=dict, description="overrides of the language's catalogue (uk.yaml)"
    )
    voice: VoiceChoice | None = Field(
        default=None,
        description="this language's engine chain; none means the bank's chain, each "
        "engine told the language (a Piper voice speaks its own language only: left out)",
    )


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WORKDAYS: list[Day] = ["mon", "tue", "wed", "thu", "fri"]


class WorkingHours(BaseModel):
    """When the bank's consultants answer the phone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: list[Day] = Field(default_factory=lambda: list(WORKDAYS))
    open: time
    close: time
    timezone: str = "Europe/Warsaw"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {zone!r}") from None
        return zone

    @model_validator(mode="after")
    def _open_before_close(self) -> "WorkingHours":
        if self.open >= self.close:
            raise ValueError("open must be before close")
        return self

    def is_open(self, moment: datetime | None = None) -> bool:
        """Whether consultants work at ``moment`` (default: now)."""
        local = (moment or datetime.now(UTC)).astimezone(ZoneInfo(self.timezone))
        return DAYS[local.weekday()] in self.days and self.open <= local.time() < self.close


# A phone registered at the cluster's SIP proxy: Proxy/<name> (telephony/proxy_phones.py).
PROXY_PHONE = re.compile(r"[A-Za-z0-9._-]{1,64}")


class QueueSettings(BaseModel):
    """One consultant queue of a bank, served by the app (stasis_app.queue)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agents: list[str] = Field(
        min_length=1,
        description="the consultants' endpoints, e.g. PJSIP/anna (a phone registered at "
        "this node's Asterisk) or Proxy/anna (registered at the cluster's SIP proxy); "
        "such a phone that is not registered counts as logged out",
    )
    strategy: Literal["longest_idle", "in_order"] = Field(
        default="longest_idle",
        description="longest_idle: the agent idle longest is rung first; in_order: as listed",
    )
    ring_timeout: float = Field(default=15, gt=0, le=120, description="seconds an agent rings")
    wrap_up: float = Field(default=10, ge=0, le=600, description="seconds after a call ends")
    max_wait: float = Field(default=600, gt=0, le=7200, description="seconds, then a callback")
    announce_every: float = Field(
        default=30, gt=0, le=600, description="seconds between position announcements"
    )
    hours: WorkingHours | None = Field(default=None, description="none means at any hour")
    music_class: str = Field(
        default="default", pattern=r"^[A-Za-z0-9_-]+$", description="musiconhold.conf class"
    )
    handle_seconds: float = Field(
        default=180,
        gt=0,
        description="a call's length (talk and wrap-up) the estimate assumes until "
        "the queue has its own recent calls to go by",
    )

    @field_validator("agents")
    @classmethod
    def _endpoints(cls, agents: list[str]) -> list[str]:
        for agent in agents:
            tech, _, resource = agent.partition("/")
            if not tech.isalpha() or not resource or any(c.isspace() for c in agent):
                raise ValueError(f"{agent!r} is not an endpoint like PJSIP/anna")
            if tech.lower() == "proxy" and not PROXY_PHONE.fullmatch(resource):
                raise ValueError(
                    f"{agent!r}: a phone's name at the SIP proxy is letters, digits, . _ -"
                )
        if len(set(agents)) != len(agents):
            raise ValueError("an agent is listed twice")
        return agents


SUPERVISOR_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
# One endpoint, TECH/name, or a Local channel into the bank's own dialplan:
# never PJSIP/name/sip:user@host, which rings whatever address follows.
SUPERVISOR_ENDPOINT = re.compile(
    r"(?!Local/)[A-Za-z][A-Za-z0-9]*/[A-Za-z0-9._-]+|Local/[A-Za-z0-9._+-]+@[A-Za-z0-9._-]+(/n)?"
)


class SupervisorPhone(BaseModel):
    """A phone that may be rung to listen in, whisper or barge into a call of
    the bank. A supervision request names one of these; an endpoint or a
    number typed into a request is never dialled (it could be anybody's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        pattern=SUPERVISOR_NAME, description="what a request names, e.g. ewa (letters, digits)"
    )
    endpoint: str = Field(
        description="the phone rung, e.g. PJSIP/ewa: a configured endpoint, not a dial "
        "string (PJSIP/ewa/sip:...@host would ring any address)"
    )

    @field_validator("endpoint")
    @classmethod
    def _one_endpoint(cls, endpoint: str) -> str:
        if not SUPERVISOR_ENDPOINT.fullmatch(endpoint):
            raise ValueError(
                f"{endpoint!r} is not one endpoint like PJSIP/ewa or Local/exten@context "
                "(no dial string: nothing may follow the endpoint's name)"
            )
        return endpoint


class ConsultantRoute(BaseModel):
    """Where a transfer to a consultant goes: one of the tenant's queues, or
    (without queues) a dialplan context and extension."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    queue: str | None = Field(
        default=None, description="the tenant's queue a transfer goes to (one of queues)"
    )

    context: str = "infolinia-consultants"
    extension: str = "s"
    endpoint: str | None = Field(
        default=None,
        description="checked before transferring (e.g. PJSIP/softphone): when it is not "
        "online the caller is told at once instead of waiting for nobody",
    )
    hours: WorkingHours | None = Field(
        default=None, description="when consultants answer; none means at any hour"
    )


class OpeningHours(WorkingHours):
    """Named hours a flow's ``route`` branches on (``open: office``,
    ``closed: office``): working hours, closed on the listed holidays."""

    holidays: list[date] = Field(default_factory=list, description="closed all day")

    def is_open(self, moment: datetime | None = None) -> bool:
        local = (moment or datetime.now(UTC)).astimezone(ZoneInfo(self.timezone))
        return local.date() not in self.holidays and super().is_open(local)


class NumberList(BaseModel):
    """Numbers a bank keeps for its flows' ``route`` (VIPs, blocked callers,
    its lines): listed here, and/or one a line in ``file`` (``#`` starts a
    comment), read again whenever the file changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    numbers: list[str] = Field(default_factory=list)
    file: Path | None = Field(default=None, description="an absolute path, one number a line")

    @field_validator("numbers")
    @classmethod
    def _digits(cls, numbers: list[str]) -> list[str]:
        for number in numbers:
            if not re.fullmatch(r"\+?[0-9]{1,20}", number):
                raise ValueError(f"{number!r} is not a phone number (digits, perhaps a leading +)")
        return numbers

    @field_validator("file")
    @classmethod
    def _absolute(cls, file: Path | None) -> Path | None:
        if file is not None and not file.is_absolute():
            raise ValueError(f"{str(file)!r} is not an absolute path")
        return file


class Routing(BaseModel):
    """What a bank's ``route`` states branch on, by name: a bank without an
    hours name is open at any hour; a list it does not have is empty."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hours: dict[str, OpeningHours] = Field(default_factory=dict)
    lists: dict[str, NumberList] = Field(default_factory=dict)


class CallRecordSettings(BaseModel):
    """A bank's call records (stasis_app/reports): how long they are kept,
    the time zone its reports' days are in, and its queue's service-level
    threshold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keep_days: int = Field(
        default=400, ge=1, le=3650, description="days a call record is kept, then deleted"
    )
    timezone: str = Field(
        default="Europe/Warsaw", description="the bank's time zone: a report's days start there"
    )
    service_level_seconds: int = Field(
        default=30,
        ge=1,
        le=3600,
        description="the queue's service level: the share of queued calls a consultant "
        "answered within this many seconds",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        return WorkingHours._known_zone(zone)


class SmsChoice(BaseModel):
    """Which SMS sender sends this bank's one-time codes (adapters/sms.py), and
    its settings (secrets as references: an environment variable or a file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sender: str = Field(description="a sender a plugin registers, e.g. demo-outbox")
    settings: dict[str, Any] = Field(default_factory=dict)


class TelekodRules(BaseModel):
    """What a new telekod must be, checked before the bank is asked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_length: int = Field(default=4, ge=4, le=12)
    max_length: int = Field(default=6, ge=4, le=12)
    no_repeated: bool = Field(default=True, description="refuse one digit repeated (1111)")
    no_sequential: bool = Field(default=True, description="refuse runs like 1234 or 4321")

    @model_validator(mode="after")
    def _bounds(self) -> "TelekodRules":
        if self.min_length > self.max_length:
            raise ValueError("min_length is larger than max_length")
        return self


class PaymentCodes(BaseModel):
    """One-time SMS codes of payments (stasis_app/safeguards/sca.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lifetime: float = Field(default=300, gt=0, le=900, description="seconds a code is good for")
    tries: int = Field(default=3, ge=1, le=5, description="wrong codes that cancel the order")
    lock_after: int = Field(
        default=5, ge=1, le=5, description="wrong codes in a row, over calls, that block payments"
    )  # PSD2 RTS art. 4(3)(b): at most five
    lock_minutes: float = Field(default=30, gt=0, description="how long such a block lasts")
    per_call: int = Field(default=3, ge=1, le=10, description="codes one call may have sent")


HEADER_NAME = re.compile(r"X-[A-Za-z0-9-]{1,62}")


class HeaderMatch(BaseModel):
    """A SIP header the hand-over's calls carry (set by the operator's
    exchange that transfers them), and the value it must have."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="an X- header, e.g. X-Transfer-Source")
    value: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9 +._:@-]+$")

    @field_validator("name")
    @classmethod
    def _x_header(cls, name: str) -> str:
        if not HEADER_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a header name like X-Transfer-Source")
        return name


class HandOver(BaseModel):
    """Calls handed over by the banking sector's card-restriction number
    (828 828 828): they arrive on one of ``lines``, or from one of
    ``callers`` (numbers or their starts), or carry ``header``. A flow's
    ``route`` sends them on with ``handed_over: true`` (the bank flow:
    straight to card blocking, the date of birth offered first)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lines: list[str] = Field(default_factory=list, description="the bank's lines for hand-overs")
    callers: list[str] = Field(
        default_factory=list, description="calling numbers, or their starts, of the transfers"
    )
    header: HeaderMatch | None = Field(default=None, description="a SIP header and its value")

    @field_validator("callers")
    @classmethod
    def _numbers(cls, callers: list[str]) -> list[str]:
        for number in callers:
            if not re.fullmatch(r"\+?[0-9]{1,20}", number):
                raise ValueError(f"{number!r} is not a phone number or its start (digits)")
        return callers

    @model_validator(mode="after")
    def _something(self) -> "HandOver":
        if not (self.lines or self.callers or self.header):
            raise ValueError("give lines, callers or header: which calls are handed over")
        return self


class RecordingNotice(BaseModel):
    """The short notice at the start of every call (RODO art. 13): the
    prompt ``recording_notice``, then "press ``key`` for the full
    information" (``recording_notice_full``, an editable prompt)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    key: str = Field(default="8", pattern=r"^[0-9]$", description="plays the full information")


class ConsultantRecordings(BaseModel):
    """Recording the consultant part of calls (from the moment a consultant
    answers; never the self-service part, where secrets are typed)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    keep_days: float = Field(
        default=90,
        gt=0,
        le=3650,
        description="days a recording is kept, then deleted (fractions allowed: tests)",
    )
    folder: Path = Field(
        default=Path("/var/lib/infolinia/recordings"),
        description="an absolute path; the app's nodes share it in a cluster",
    )

    @field_validator("folder")
    @classmethod
    def _absolute(cls, folder: Path) -> Path:
        if not folder.is_absolute():
            raise ValueError(f"{str(folder)!r} is not an absolute path")
        return folder


class Survey(BaseModel):
    """After a consultant hangs up, the caller may rate the call 1 to 5."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False


class Tenant(BaseModel):
    """One bank on this deployment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    lines: list[str] = Field(min_length=1, description="dialled numbers that reach this bank")
    flow: Path
    adapter: AdapterChoice
    prompts: dict[str, str] = Field(default_factory=dict, description="overrides of pl.yaml")
    consultant: ConsultantRoute = ConsultantRoute()
    voice: VoiceChoice | None = Field(
        default=None, description="this bank's TTS engine chain; none means the deployment's"
    )
    queues: dict[str, QueueSettings] = Field(
        default_factory=dict, description="consultant queues served by the app, by name"
    )
    supervisors: list[SupervisorPhone] = Field(
        default_factory=list,
        description="the phones that may supervise this bank's queue calls, by name; "
        "none means nobody can listen in",
    )
    records: CallRecordSettings = Field(
        default_factory=CallRecordSettings,
        description="call records: retention (keep_days) and the reports' time zone",
    )
    languages: dict[Literal["uk", "en"], LanguageOffer] = Field(
        default_factory=dict,
        description="languages offered besides Polish at the greeting, in the order offered",
    )
    routing: Routing = Field(
        default_factory=Routing, description="named hours and number lists for route states"
    )
    consultants: dict[str, ConsultantRoute] = Field(
        default_factory=dict,
        description="consultants a webhook reply may transfer to by name (dialplan routes)",
    )
    handover: HandOver | None = Field(
        default=None,
        description="calls handed over by 828 828 828 (lines, callers, a SIP header)",
    )
    recording_notice: RecordingNotice = Field(
        default_factory=RecordingNotice, description="the notice at a call's start (RODO)"
    )
    recordings: ConsultantRecordings = Field(
        default_factory=ConsultantRecordings, description="the consultant part recorded"
    )
    survey: Survey = Field(default_factory=Survey, description="a 1-5 rating after a consultant")
    login_rate_per_minute: int | None = Field(
        default=None,
        ge=1,
        description="phone logins this bank takes a minute, whoever calls; "
        "none means security.login_rate_per_minute",
    )
    features: Features = Field(
        default_factory=Features,
        description="optional services: several accounts, bank information, exchange rates",
    )
    sms: SmsChoice | None = Field(
        default=None, description="the SMS sender of one-time codes; none: no payments by phone"
    )
    telekod_rules: TelekodRules = Field(
        default_factory=TelekodRules, description="what a new telekod must be"
    )
    payment_codes: PaymentCodes = Field(
        default_factory=PaymentCodes, description="one-time codes: lifetime and tries"
    )

    @field_validator("languages")
    @classmethod
    def _one_key_each(cls, languages: dict[str, LanguageOffer]) -> dict[str, LanguageOffer]:
        keys = [offer.key for offer in languages.values()]
        twice = sorted({key for key in keys if keys.count(key) > 1})
        if twice:
            raise ValueError(f"key {twice[0]!r} picks two languages")
        return languages

    @field_validator("recording_notice")
    @classmethod
    def _notice_key_free(cls, notice: RecordingNotice, info: ValidationInfo) -> RecordingNotice:
        languages: dict[str, LanguageOffer] = info.data.get("languages") or {}
        for language, offer in languages.items():
            if notice.enabled and offer.key == notice.key:
                raise ValueError(
                    f"key {notice.key!r} also picks {language} at the greeting "
                    f"(languages.{language}.key): choose another"
                )
        return notice

    @field_validator("handover")
    @classmethod
    def _handover_lines(cls, handover: HandOver | None, info: ValidationInfo) -> HandOver | None:
        lines: list[str] = info.data.get("lines") or []
        for line in handover.lines if handover is not None else []:
            if line not in lines:
                raise ValueError(
                    f"lines: {line!r} is not one of the bank's lines ({', '.join(lines)})"
                )
        return handover

    @field_validator("supervisors")
    @classmethod
    def _unique_supervisors(cls, phones: list[SupervisorPhone]) -> list[SupervisorPhone]:
        names = [phone.name for phone in phones]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"supervisor {twice[0]!r} is listed twice")
        return phones

    @model_validator(mode="after")
    def _queue_exists(self) -> "Tenant":
        wanted = self.consultant.queue
        if wanted is not None and wanted not in self.queues:
            known = ", ".join(sorted(self.queues)) or "none defined"
            raise ValueError(f"consultant.queue {wanted!r} is not one of queues ({known})")
        return self

    @field_validator("lines")
    @classmethod
    def _lines_are_digits(cls, lines: list[str]) -> list[str]:
        for line in lines:
            if not line.isdigit():
                raise ValueError(f"line {line!r} is not a dialled number (digits only)")
        return lines
