"""Publishing a bank's flow while a real call is in progress (issue 20): the
call finishes on the version it started with, the next call gets the new one.
The publish is made by another process on the shared store (as ``infolinia
flow publish`` or another node's admin page would): the running app takes it
within a look (stasis_app/flow/versions.py, FOLLOW_EVERY)."""

import asyncio
import time
from pathlib import Path

import pytest

from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from stasis_app.flow.model import flow_hash
from stasis_app.flow.versions import FlowVersions
from stasis_app.store import Store
from tests.conftest import TEST_AUDIT_KEY, TEST_CONFIG
from tests.support.app_process import AppProcess, LogEntry
from tests.support.sipp import sipp_call

pytestmark = pytest.mark.asterisk

LINE, TENANT = "129", "versions"
ECHO = (TEST_CONFIG.parent / "flows" / "echo.yaml").read_text()
# The new version reads the keys back after "Zły wybór." instead of "Wpisano".
CHANGED = ECHO.replace("prompt: [you_entered,", "prompt: [invalid_choice,")
KEYS_AFTER_MS = 2500  # greeting and ask_digits of the test prompts are over by then


def prompts_of(app: AppProcess, call_id: str) -> list[str]:
    return [
        str(e["prompt"])
        for e in app.entries()
        if e.get("event") == "prompt" and e.get("call_id") == call_id
    ]


def started_on_line(app: AppProcess, seen: set[str]) -> LogEntry:
    return app.wait_for(
        lambda e: (
            e.get("event") == "call started"
            and e.get("line") == LINE
            and e.get("call_id") not in seen
        ),
        10,
    )


def test_a_call_in_progress_finishes_on_its_version_and_the_next_gets_the_new(
    live_app: AppProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFOLINIA_AUDIT_KEY", TEST_AUDIT_KEY)  # the app's: the publish is audited
    settings = load_settings(TEST_CONFIG, resolve_secrets=False, env={})
    store = Store(settings.state)
    flows = FlowVersions(store)
    check = build_deployment(settings, with_adapters=False).check_flow
    live = flows.published(TENANT)
    assert live is not None and live.hash == flow_hash(ECHO)  # the file, imported at start
    seen = {str(e.get("call_id")) for e in live_app.entries() if e.get("event") == "call started"}

    async def scenario() -> tuple[str, str]:
        first = asyncio.create_task(
            sipp_call(LINE, "1#", KEYS_AFTER_MS, tmp_path / "first", hangup_after_ms=1500)
        )
        started = await asyncio.to_thread(started_on_line, live_app, seen)
        draft = flows.save_draft(TENANT, CHANGED, "test", check, comment="inny komunikat")
        flows.publish(TENANT, draft.number, "test", check)
        await asyncio.to_thread(
            live_app.wait_for,
            lambda e: e.get("event") == "flow version live" and e.get("version") == draft.number,
            5,
        )
        assert not first.done()  # still waiting for its keys: a call in progress
        second = asyncio.create_task(
            sipp_call(LINE, "2#", KEYS_AFTER_MS, tmp_path / "second", hangup_after_ms=1500)
        )
        next_one = await asyncio.to_thread(started_on_line, live_app, seen | {started["call_id"]})
        for result in await asyncio.gather(first, second):
            assert result.returncode == 0, result.output
        return str(started["call_id"]), str(next_one["call_id"])

    try:
        old_call, new_call = asyncio.run(scenario())
        old_heard, new_heard = prompts_of(live_app, old_call), prompts_of(live_app, new_call)
        assert "you_entered" in old_heard and "invalid_choice" not in old_heard, old_heard
        assert "invalid_choice" in new_heard and "you_entered" not in new_heard, new_heard
        # The call records say which version each call ran (what reports compare).
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            rows = store.read(
                lambda db: db.execute(
                    "SELECT call_id, flow_version FROM call_records WHERE tenant = ?", (TENANT,)
                ).fetchall()
            )
            if {old_call, new_call} <= {row[0] for row in rows}:
                break
            time.sleep(0.1)
        versions = dict(rows)
        assert (versions[old_call], versions[new_call]) == (flow_hash(ECHO), flow_hash(CHANGED))
    finally:
        # The shared app's bank back on the file's text for whoever calls next.
        reverted = flows.revert(TENANT, 1, "test", check)
        live_app.wait_for(
            lambda e: e.get("event") == "flow version live" and e.get("version") == reverted.number,
            5,
        )
