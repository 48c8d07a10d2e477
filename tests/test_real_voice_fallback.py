"""gTTS cannot be reached from these machines: a bank whose chain starts with
it (line 112) still speaks, through espeak-ng, and the log says so once per
app process, not per call."""

import asyncio

import pytest

from devtools.simulator import CallSimulator
from tests.support.app_process import AppProcess

pytestmark = pytest.mark.asterisk


def test_line_speaks_through_espeak_when_gtts_is_unreachable(
    live_app: AppProcess, simulator: CallSimulator
) -> None:
    async def three_calls() -> list[list[str]]:
        transcripts = await asyncio.gather(
            *(
                simulator.call("112", ["4711#"], quiet_gap=0.3, timeout=60, hangup_after=0.5)
                for _ in range(3)
            )
        )
        return [[s.text for s in t.steps if s.kind == "prompt"] for t in transcripts]

    for said in asyncio.run(three_calls()):
        assert said[0] == "Dzień dobry."
        assert not [t for t in said if t.startswith("sound:")]  # each prompt a known file

    def gtts_failed(entry: dict[str, object]) -> bool:
        return str(entry.get("event", "")).startswith("TTS engine") and str(
            entry.get("engine", "")
        ).startswith("gtts ")

    warnings = [e for e in live_app.entries() if gtts_failed(e)]
    assert [e["event"] for e in warnings] == [
        "TTS engine failed; the next engine of the chain speaks until it is retried"
    ]
    books = [e for e in live_app.entries() if e.get("event") == "prompt book ready"]
    assert any("espeak-ng" in " ".join(map(str, b.get("engines", {}))) for b in books)
