"""A bank's staff change a prompt while the line runs: through the admin API
(Cieszyn's greeting) and through ``infolinia prompts set`` in another process
(the echo line's greeting). The next real call hears the new text; nothing
restarts."""

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devtools.sandbox import Sandbox
from devtools.simulator import CallSimulator
from stasis_app.admin.prompts import PromptAdmin
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from stasis_app.store import Store
from tests.conftest import TEST_CONFIG
from tests.support.admin_http import put_greeting
from tests.support.app_process import AppProcess
from tests.support.ari_client import Ari, Witness, heard

pytestmark = pytest.mark.asterisk


def first_heard(line: str, sandbox: Sandbox) -> str:
    """Call ``line``, hang up once it waits for keys; the first prompt's text.
    URIs are named from the config plus the store's edits (as `infolinia call` does)."""
    settings = load_settings(TEST_CONFIG, env={"INFOLINIA_ARI_PASSWORD": sandbox.ari_password()})
    deployment = build_deployment(settings, with_adapters=False)
    PromptAdmin(deployment, Store(settings.state)).load_stored()
    simulator = CallSimulator(settings.ari, deployment.heard_texts())
    transcript = asyncio.run(simulator.call(line, [], quiet_gap=0.3, timeout=60, hangup_after=0))
    return next(step.text for step in transcript.steps if step.kind == "prompt")


@pytest.fixture
def store(live_app: AppProcess) -> Store:
    return Store(load_settings(TEST_CONFIG, resolve_secrets=False, env={}).state)


ADMIN_PORT = 18090  # the test config's admin server (the live app's)


@pytest.fixture
def api_token(store: Store) -> Iterator[str]:
    yield store.create_token("test-admin", "cieszyn")
    store.revoke_token("test-admin")


def test_greeting_changed_through_the_api_is_heard_on_the_next_call(
    live_app: AppProcess, sandbox: Sandbox, api_token: str
) -> None:
    assert first_heard("101", sandbox) == "Cieszyn."
    new = "Witamy w Banku Spółdzielczym w Cieszynie."
    pid = live_app.proc.pid if live_app.proc else None
    changed = put_greeting(ADMIN_PORT, api_token, "cieszyn", new, expected="Cieszyn.")
    assert asyncio.run(changed) == 200
    try:
        assert first_heard("101", sandbox) == new
        # The same process served both calls: no restart.
        assert live_app.proc is not None and live_app.proc.pid == pid
        live_app.wait_for(lambda e: e.get("event") == "prompt changed", 5)
    finally:
        back = put_greeting(ADMIN_PORT, api_token, "cieszyn", "Cieszyn.", expected=new)
        assert asyncio.run(back) == 200
    assert first_heard("101", sandbox) == "Cieszyn."


def cli_set(text: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "stasis_app",
            "--config",
            str(TEST_CONFIG),
            "prompts",
            "set",
            "echo",
            "greeting",
            text,
            "--who",
            "test",
        ],
        check=True,
        capture_output=True,
    )


def cli_record(wav: Path, transcript: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "stasis_app", "--config", str(TEST_CONFIG), "prompts", "record",
         "echo", "greeting", str(wav), "--transcript", transcript, "--who", "test"],
        check=True,
        capture_output=True,
    )  # fmt: skip


def cli_set_and_wait(app: AppProcess, text: str, change: Callable[[], None] | None = None) -> None:
    """Set the echo greeting from another process (or make ``change``); wait
    until the app applied it."""

    def applied() -> int:
        return app.count(lambda e: e.get("event") == "prompt edits applied")

    before = applied()
    (change or (lambda: cli_set(text)))()
    deadline = time.monotonic() + 10
    while applied() == before:
        assert time.monotonic() < deadline, "the app did not apply the edit within 10 s"
        time.sleep(0.05)


def test_greeting_changed_from_the_command_line_reaches_the_running_app(
    live_app: AppProcess, sandbox: Sandbox, store: Store
) -> None:
    old = first_heard("107", sandbox)
    cli_set_and_wait(live_app, "Powitanie zmienione z konsoli.")
    try:
        assert first_heard("107", sandbox) == "Powitanie zmienione z konsoli."
        [last, *_] = store.prompt_history("echo", "greeting")
        assert (last.old_text, last.who) == (old, "test")
    finally:
        cli_set_and_wait(live_app, old)


def test_a_recording_uploaded_from_the_command_line_is_what_the_next_call_plays(
    live_app: AppProcess, sandbox: Sandbox, store: Store, tmp_path: Path
) -> None:
    """A voice talent's recording (here espeak-ng at 22 kHz, as a studio would
    not make it) replaces the echo line's greeting in the running app."""
    old = first_heard("107", sandbox)
    talent = tmp_path / "lektor.wav"
    said = "Tu nagranie lektora linii echo."
    subprocess.run(["espeak-ng", "-v", "pl", "-w", str(talent), said], check=True)
    cli_set_and_wait(live_app, said, lambda: cli_record(talent, said))
    try:
        assert store.prompt_texts("echo")["greeting"].startswith("@recording:")
        # The simulator names what played by its file: the recording's, with its transcript.
        assert first_heard("107", sandbox) == said
    finally:
        cli_set_and_wait(live_app, old)
    assert first_heard("107", sandbox) == old


def test_a_call_plays_only_prompts_rendered_before_the_line_opened(
    live_app: AppProcess, ari: Ari, sandbox: Sandbox
) -> None:
    """Every prompt book is ready before the app serves; a call then plays
    only files of those books (no synthesis while a caller waits)."""
    events = [e.get("event") for e in live_app.entries()]
    serving = events.index("serving")
    settings = load_settings(TEST_CONFIG, resolve_secrets=False, env={})
    # a book per bank and per other language it offers, and the book of unknown numbers
    books = len(settings.tenants) + sum(len(t.languages) for t in settings.tenants.values()) + 1
    assert events[:serving].count("prompt book ready") == books
    # A bank added on the admin page while the app serves (tests/test_real_new_bank.py)
    # has every book rendered before the deployment serving it takes a call: no
    # book is made ready after the last such swap.
    after = events[serving:]
    swaps = [i for i, event in enumerate(after) if event == "banks of the store taken"]
    assert "prompt book ready" not in after[(swaps[-1] + 1 if swaps else 0) :]
    known = build_deployment(settings, with_adapters=False).heard_texts()

    async def call() -> list[str]:
        async with Witness(ari) as witness:
            name = await ari.call_with_keys("107", "4711#", wait=1.5)
            channel = await witness.channel_named(name)
            await witness.hangup_of(channel, timeout=30)
            return heard(witness.on_channel(channel))

    played = asyncio.run(call())
    assert len(played) >= 5
    assert set(played) <= set(known), [(i, known.get(u, "?")) for i, u in enumerate(played)]
    for uri in played:
        assert Path(uri.removeprefix("sound:") + ".sln16").is_file()
