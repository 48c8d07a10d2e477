"""The dialplan's fallback prompt: what Asterisk says when the app cannot.

When ``Stasis(infolinia,LINE)`` comes back without the app having served
the call (the app is not connected: ``STASISSTATUS=FAILED``; or it handed
the call back, stopping or with ``ari.max_calls`` in progress),
``docker/asterisk/etc/extensions.conf`` plays ``infolinia/fallback`` and
sends the caller to a consultant.

The app plays no part in that, so the prompt is one of Asterisk's own
files, not the app's: committed, pre-rendered like the apology
(:mod:`voice.apology`, same engine and format) under
``docker/asterisk/sounds/infolinia/``, and copied into Asterisk's sounds
folder (``/usr/share/asterisk/sounds``) by ``infolinia sandbox up`` and by
the Docker image. It is there before the app has ever started, which the
shared prompt folder is not (the app fills that, and Docker mounts it
read-only for Asterisk).

Regenerate the files (espeak-ng and ffmpeg needed) with::

    .venv/bin/python -m voice.fallback
"""

import asyncio
from pathlib import Path

from voice.apology import render
from voice.convert import EXTENSIONS

FALLBACK_TEXT = (
    "Przepraszamy, automatyczna obsługa jest chwilowo niedostępna. Łączymy z konsultantem."
)
# Asterisk's own sounds of this project; the sandbox and the Docker image
# install the folder's contents into Asterisk's sounds folder.
ASTERISK_SOUNDS = Path(__file__).resolve().parent.parent / "docker" / "asterisk" / "sounds"
SOUND_NAME = "infolinia/fallback"  # as the dialplan plays it: Playback(infolinia/fallback)
SHIPPED = ASTERISK_SOUNDS / SOUND_NAME  # base path, without extension


async def regenerate(dest: Path = SHIPPED) -> None:
    """Render :data:`FALLBACK_TEXT` with espeak-ng into ``dest.{sln16,wav}``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    await render(FALLBACK_TEXT, dest)


if __name__ == "__main__":
    asyncio.run(regenerate())
    for ext in EXTENSIONS:
        path = SHIPPED.with_suffix(ext)
        print(f"{path}  {path.stat().st_size} bytes")
