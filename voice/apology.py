"""The shipped apology: what a prompt plays when no engine could render it.

``voice/assets/apology.{sln16,wav}`` are committed, pre-rendered files in
the format :func:`voice.convert.convert_for_asterisk` writes, so the line
never falls silent even when every engine fails at start-up. Asterisk sees
only the prompt folder, so :func:`install` copies them there
(``PROMPTS/shipped/apology.*``) and the app plays that copy.

Regenerate the files (espeak-ng and ffmpeg needed) with::

    .venv/bin/python -m voice.apology
"""

import asyncio
import os
import tempfile
from pathlib import Path

from voice.convert import EXTENSIONS, convert_for_asterisk

APOLOGY_TEXT = "Przepraszamy, wystąpił problem techniczny. Prosimy zadzwonić później."
ASSETS = Path(__file__).parent / "assets"
SHIPPED = ASSETS / "apology"  # base path, without extension
FOLDER = "shipped"  # inside the prompt folder; cache keys are hex, so no clash
SPEED = 150  # words per minute: slower than prompts, it may be all a caller hears


def installed_base(root: Path) -> Path:
    """Where :func:`install` puts the apology in the prompt folder ``root``."""
    return root / FOLDER / SHIPPED.name


def install(root: Path) -> Path:
    """Copy the shipped apology into ``root/shipped`` (atomically, only when it
    differs) and return the copy's base path, for ``sound:BASE``."""
    base = installed_base(root)
    base.parent.mkdir(parents=True, exist_ok=True)
    base.parent.chmod(0o755)
    for ext in EXTENSIONS:  # .sln16 last: its presence means both are in place
        data = SHIPPED.with_suffix(ext).read_bytes()
        target = base.with_suffix(ext)
        if target.exists() and target.read_bytes() == data:
            continue
        tmp = target.with_name(f".{target.name}.{os.getpid()}")
        try:
            tmp.write_bytes(data)
            tmp.chmod(0o644)  # Asterisk runs as its own user and must read it
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
    return base


async def render(text: str, dest: Path) -> None:
    """Speak ``text`` with espeak-ng (Polish, :data:`SPEED`) into ``dest.{sln16,wav}``,
    as every shipped, pre-rendered file is made (see also :mod:`voice.fallback`)."""
    from voice.espeak import EspeakEngine

    with tempfile.TemporaryDirectory(prefix="infolinia-shipped-") as work:
        raw = Path(work) / "speech.wav"
        await EspeakEngine(voice="pl", speed=SPEED).synthesize(text, raw)
        convert_for_asterisk(raw, dest)


async def regenerate(dest: Path = SHIPPED) -> None:
    """Render :data:`APOLOGY_TEXT` with espeak-ng into ``dest.{sln16,wav}``."""
    await render(APOLOGY_TEXT, dest)


if __name__ == "__main__":
    asyncio.run(regenerate())
    for ext in EXTENSIONS:
        path = SHIPPED.with_suffix(ext)
        print(f"{path}  {path.stat().st_size} bytes")
