"""espeak-ng: an offline engine from Debian's ``espeak-ng`` package.

Robotic but clear, fast, and needs no network: the engine of tests and CI,
and the last engine in every chain.
"""

import asyncio
import shutil
import subprocess
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from voice.engine import SynthesisError


class EspeakSettings(BaseModel):
    """espeak-ng's settings in a chain (``voice.engines[].settings``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    voice: str = Field(default="pl", description="espeak-ng voice, as for -v")
    speed: int = Field(default=160, ge=80, le=450, description="words per minute")


class EspeakEngine:
    """Speaks through the ``espeak-ng`` command."""

    offline = True  # may speak customer data (see voice.live)

    def __init__(self, voice: str = "pl", speed: int = 160, binary: str = "espeak-ng") -> None:
        found = shutil.which(binary)
        if found is None:
            raise SynthesisError(f"{binary} is not installed (Debian package espeak-ng)")
        self.binary = found
        self.voice = voice
        self.speed = speed

    @cached_property
    def version(self) -> str:
        out = subprocess.run(
            [self.binary, "--version"], capture_output=True, text=True, check=True
        ).stdout
        # "eSpeak NG text-to-speech: 1.51  Data at: ..."
        return out.split(":", 1)[1].split()[0] if ":" in out else out.strip()

    @property
    def identity(self) -> str:
        return f"espeak-ng {self.version} voice={self.voice} speed={self.speed}"

    async def synthesize(self, text: str, out: Path) -> None:
        # Text goes through stdin, not argv, so it never shows in a process list.
        proc = await asyncio.create_subprocess_exec(
            self.binary,
            "-v",
            self.voice,
            "-s",
            str(self.speed),
            "-w",
            str(out),
            "--stdin",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await proc.communicate(text.encode("utf-8"))
        if proc.returncode != 0 or not out.exists() or out.stat().st_size <= 44:
            raise SynthesisError(
                f"espeak-ng failed (exit {proc.returncode}): {err.decode(errors='replace').strip()}"
            )
