"""The real app keeps its audit trail's heads outside the store as calls are
audited: killed with no orderly stop, a copy of its store cut back by the
last call's entries is named by ``infolinia audit verify``; the whole copy
verifies, and the restarted app finds its trail whole."""

import asyncio
import sqlite3
from pathlib import Path

import pytest

from devtools.simulator import CallSimulator
from stasis_app.cli import main
from stasis_app.config import load_settings
from stasis_app.safeguards.audit import AuditLog
from stasis_app.store import Store
from tests.conftest import TEST_CONFIG
from tests.support.app_process import AppProcess

pytestmark = pytest.mark.asterisk
CUSTOMER = "55500017"  # no one else's number: its failed login locks nobody


def test_a_trail_cut_after_the_app_was_killed_is_named(
    live_app: AppProcess,
    simulator: CallSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = load_settings(TEST_CONFIG, resolve_secrets=False, env={})
    audit = AuditLog(Store(settings.state))
    before, _ = audit.head()
    asyncio.run(
        simulator.call("100", ["2", CUSTOMER, "0000#"], quiet_gap=0.3, timeout=60, hangup_after=1)
    )
    ours = [e for e in audit.entries(limit=100) if e.seq > before and e.customer == "*****017"]
    assert ours, "the call's login was not audited"
    live_app.kill()  # no orderly stop: no last head written on the way out

    copy = tmp_path / "state.sqlite"
    with sqlite3.connect(settings.state) as live, sqlite3.connect(copy) as target:
        live.backup(target)
    assert settings.audit.heads_file is not None
    monkeypatch.setenv("INFOLINIA_STATE", str(copy))
    monkeypatch.setenv("INFOLINIA_AUDIT_HEADS_FILE", str(settings.audit.heads_file))
    verify = ["--config", str(TEST_CONFIG), "audit", "verify", "--full"]
    assert main(verify) == 0, capsys.readouterr().out  # the whole copy reaches every head

    with sqlite3.connect(copy) as db:
        db.execute("DELETE FROM audit WHERE seq >= ?", (ours[0].seq,))
    assert main(verify) == 1
    out = capsys.readouterr().out
    assert f"BROKEN at entry #{ours[0].seq}" in out and "are gone from the end" in out
    assert "audit-heads.log line" in out

    monkeypatch.delenv("INFOLINIA_STATE")  # the app restarts on its own store
    monkeypatch.delenv("INFOLINIA_AUDIT_HEADS_FILE")
    live_app.start()  # the next tests need it; its own trail is whole
    check = live_app.wait_for(lambda e: e["event"].startswith("audit trail"), 30)
    assert check["event"] == "audit trail verified", check
