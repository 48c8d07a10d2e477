"""Stopping the app (SIGTERM) lets the calls in progress finish: a caller in
the middle of a call still hears the rest of it, then the app exits."""

import asyncio
import signal

import pytest

from devtools.simulator import CallSimulator
from tests.support.app_process import AppProcess

pytestmark = pytest.mark.asterisk


def test_a_call_in_progress_finishes_when_the_app_is_stopped(
    live_app: AppProcess, simulator: CallSimulator
) -> None:
    async def call_and_stop() -> list[str]:
        call = asyncio.ensure_future(
            simulator.call("107", ["4711#"], quiet_gap=0.3, timeout=60)  # the line hangs up
        )
        await asyncio.sleep(1.0)  # the caller is listening to the greeting
        assert live_app.proc is not None
        live_app.proc.send_signal(signal.SIGTERM)
        transcript = await call
        return [step.text for step in transcript.steps if step.kind == "prompt"]

    said = asyncio.run(call_and_stop())
    assert said[0] == "Dzień dobry."
    assert said[-1] == "Do widzenia."  # the flow ran to its end
    assert live_app.proc is not None and live_app.proc.wait(15) == 0
    events = [e.get("event") for e in live_app.entries()]
    assert "stopping: letting calls finish" in events
    ended = [e for e in live_app.entries() if e.get("event") == "call ended"]
    assert ended[-1]["outcome"] == "completed"
    assert events.index("call ended", events.index("stopping: letting calls finish")) < (
        events.index("stopped")
    )
