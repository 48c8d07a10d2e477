"""Customer text spoken during a call: offline engine only, per call, deleted after."""

from pathlib import Path

import pytest

from voice.engine import SynthesisError
from voice.espeak import EspeakEngine
from voice.live import LiveSpeech

pytestmark = pytest.mark.unit


class OnlineEngine:
    identity = "some cloud voice"

    async def synthesize(self, text: str, out: Path) -> None:
        raise AssertionError("customer text must never reach an online engine")


def test_an_online_engine_is_refused_for_customer_text(tmp_path: Path) -> None:
    with pytest.raises(SynthesisError, match="offline"):
        LiveSpeech(tmp_path, OnlineEngine())


async def test_rendered_for_one_call_and_deleted_when_it_ends(tmp_path: Path) -> None:
    live = LiveSpeech(tmp_path / "live", EspeakEngine(voice="pl", speed=300))
    uri = await live.media("1700000000.1", "Biedronka")
    base = Path(uri.removeprefix("sound:"))
    assert base.parent == tmp_path / "live" / "1700000000.1"
    # espeak-ng's 22050 Hz, doubled in-process to a format Asterisk plays (voice.slin).
    assert base.with_suffix(".sln44").stat().st_size > 1000
    live.forget("1700000000.1")
    assert not (tmp_path / "live" / "1700000000.1").exists()
