"""The store's own methods and the admin page's accounts and callbacks, on
both engines: what a bank's staff set is read back the same from SQLite and
from PostgreSQL (the SQL the modules write runs on both)."""

from pathlib import Path

import pytest

from stasis_app.admin.web.accounts import Accounts
from stasis_app.queue.callbacks import DONE, CallbackBook
from stasis_app.store import StaleEdit, Store

pytestmark = pytest.mark.unit


@pytest.fixture
def store(state_where: Path | str) -> Store:
    return Store(state_where)


def test_prompt_edits_keep_their_history_and_refuse_a_lost_update(store: Store) -> None:
    first = store.set_prompt_text("izbica", "welcome", "Dzień dobry.", "web:ola", "Witamy.")
    second = store.set_prompt_text(
        "izbica", "welcome", "Dzień dobry, tu bank.", "web:jan", "Witamy.", expected="Dzień dobry."
    )
    assert second.revision > first.revision and second.old_text == "Dzień dobry."
    with pytest.raises(StaleEdit) as stale:
        store.set_prompt_text("izbica", "welcome", "x", "web:ewa", "Witamy.", expected="Witamy.")
    assert stale.value.current == "Dzień dobry, tu bank."
    assert store.prompt_texts("izbica") == {"welcome": "Dzień dobry, tu bank."}
    assert [e.who for e in store.prompt_history("izbica", "welcome")] == ["web:jan", "web:ola"]
    assert store.revision() == second.revision and store.prompt_texts("cieszyn") == {}


def test_recordings_and_tokens(store: Store) -> None:
    wav = b"RIFF\x00\x01\xff\xfeWAVE" + bytes(range(256))
    store.save_recording("ab" * 32, "wav", wav, 1.25, "web:ola")
    store.save_recording("ab" * 32, "wav", b"other", 9.0, "web:jan")  # the first one stays
    assert store.recording_data("ab" * 32) == wav and store.recording_data("cd" * 32) is None
    token = store.create_token("ci", "izbica", ("queues", "prompts"))
    found = store.check_token(token)
    assert found is not None and found.scopes == {"queues", "prompts"}
    assert store.revoke_token("ci") and store.check_token(token) is None
    assert not store.revoke_token("ci")


def test_callbacks_keep_the_callers_place(store: Store) -> None:
    book = CallbackBook(store)
    first = book.add("izbica", "konsultanci", "600100200")
    second = book.add("izbica", "konsultanci", "600100201", customer="12345678", level="identified")
    assert second > first
    assert [c.number for c in book.list("izbica")] == ["600100200", "600100201"]
    assert book.mark_done(first, "ewa") and not book.mark_done(first, "ewa")
    assert [c.id for c in book.list("*", state=DONE)] == [first]
    assert not book.mark_done(second, "ewa", tenant="cieszyn")


def test_admin_users_sessions_and_login_counting(store: Store) -> None:
    clock = [1000.0]
    accounts = Accounts(store, clock=lambda: clock[0])
    user = accounts.set_user("ola", "admin", "*", "a-long-password-1")
    cookie, session = accounts.open_session(user)
    assert accounts.session(cookie) == session
    accounts.set_user("ola", "admin", "*", "another-password-2")  # a new password ...
    assert accounts.session(cookie) is None  # ... ends the old sessions
    assert accounts.check_password("ola", "another-password-2") == user
    assert [accounts.begin_login("jan", 60, 2) for _ in range(3)] == [True, True, False]
    assert accounts.failures_since("jan", 0) == 2
    accounts.login_succeeded("jan")
    assert accounts.failures_since("jan", 0) == 0
    assert accounts.users() == [user] and accounts.remove_user("ola") and accounts.users() == []
