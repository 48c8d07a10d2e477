"""Tenants: the banks one deployment serves, each with its lines, flow,
adapter, prompt overrides and consultant route."""

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class AdapterChoice(BaseModel):
    """Which core-banking adapter a tenant uses, and its settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    settings: dict[str, Any] = Field(default_factory=dict)
    timeout: float = Field(default=5.0, gt=0, description="seconds per adapter call")


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

    @field_validator("lines")
    @classmethod
    def _lines_are_digits(cls, lines: list[str]) -> list[str]:
        for line in lines:
            if not line.isdigit():
                raise ValueError(f"line {line!r} is not a dialled number (digits only)")
        return lines
