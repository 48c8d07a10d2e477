"""Tenants: the banks one deployment serves, each with its lines, flow,
adapter, prompt overrides and consultant route."""

from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class AdapterChoice(BaseModel):
    """Which core-banking adapter a tenant uses, and its settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    settings: dict[str, Any] = Field(default_factory=dict)
    timeout: float = Field(default=5.0, gt=0, description="seconds per adapter call")


class EngineChoice(BaseModel):
    """One TTS engine of a chain, and its settings (checked by the engine's own schema)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="a registered engine: espeak-ng, gtts, or a plugin's")
    settings: dict[str, Any] = Field(default_factory=dict)


class VoiceChoice(BaseModel):
    """A tenant's own chain of TTS engines, instead of the deployment's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    engines: list[EngineChoice] = Field(
        min_length=1, description="in order of preference; the next speaks when one fails"
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


class ConsultantRoute(BaseModel):
    """Where a transfer to a consultant goes (a dialplan context and extension)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

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

    @field_validator("lines")
    @classmethod
    def _lines_are_digits(cls, lines: list[str]) -> list[str]:
        for line in lines:
            if not line.isdigit():
                raise ValueError(f"line {line!r} is not a dialled number (digits only)")
        return lines
