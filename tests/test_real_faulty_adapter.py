"""A bank core that hangs or crashes, on real calls: the caller hears an
apology within the adapter's timeout and the flow's fallback runs; the
event is logged without the secret it was given."""

import asyncio
import json

import pytest

from devtools.simulator import CallSimulator, Transcript
from tests.support.app_process import AppProcess
from tests.test_real_bank import TEXTS, said

pytestmark = pytest.mark.asterisk


def apology_after_keys(transcript: Transcript) -> float:
    """Seconds from the telekod's keys to the apology."""
    keys_at = next(s.at for s in transcript.steps if s.kind == "keys" and s.text.endswith("#"))
    sorry_at = next(s.at for s in transcript.steps if s.text == TEXTS["bank_unavailable"])
    return sorry_at - keys_at


def test_hanging_and_crashing_cores_end_in_an_apology_and_the_fallback(
    simulator: CallSimulator,
    live_app: AppProcess,
) -> None:
    async def both() -> list[Transcript]:
        return await asyncio.gather(
            *(
                # The caller hangs up once the transfer rings: a consultant's
                # phone may ring for 30 s and is not what this test is about.
                simulator.call(
                    line, ["2", "12345678", "1234#"], quiet_gap=0.3, timeout=90, hangup_after=2.0
                )
                for line in ("103", "110")
            )
        )

    hanging, crashing = asyncio.run(both())
    for transcript in (hanging, crashing):
        spoken = said(transcript)
        # The apology, then the flow's fallback: a transfer to a consultant.
        assert spoken[-2:] == [TEXTS["bank_unavailable"], TEXTS["transferring"]]
    # Hanging: told within the 1 s adapter timeout plus the time to say "Telekod"
    # being over; crashing: at once. (Seconds are shown, not asserted as limits.)
    print("apology after keys:", apology_after_keys(hanging), apology_after_keys(crashing))
    live_app.wait_for(lambda e: e["event"] == "adapter timed out" and e["adapter"] == "hanging", 5)
    failed = live_app.wait_for(
        lambda e: e["event"] == "adapter failed" and e["adapter"] == "crashing", 5
    )
    assert failed["error"] == "RuntimeError"
    assert (
        live_app.count(lambda e: e["event"] == "call ended" and e["outcome"] == "transferred") >= 2
    )
    assert "1234" not in json.dumps([e for e in live_app.entries() if "adapter" in e])
