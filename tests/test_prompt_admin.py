"""Changing prompts while the line runs: the store (history, stale edits,
hashed tokens), the admin HTTP API and the ``infolinia prompts`` command."""

import contextlib
import io
import sqlite3
import subprocess
import wave
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from stasis_app.admin.api import AdminApi
from stasis_app.admin.prompts import PromptAdmin
from stasis_app.cli import main
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from stasis_app.store import StaleEdit, Store
from tests.conftest import TEST_CONFIG
from tests.support.isolated_admin import isolated_env

# live_state: uses the test config's state, prompt cache or demo bank, as the
# real calls' app does (./dev test runs it with them, never beside them).
pytestmark = [pytest.mark.unit, pytest.mark.live_state]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return isolated_env(tmp_path)


@pytest.fixture
def admin(env: dict[str, str]) -> PromptAdmin:
    settings = load_settings(TEST_CONFIG, env=env, resolve_secrets=False)
    return PromptAdmin(build_deployment(settings, with_adapters=False), Store(settings.state))


def test_the_store_keeps_every_edit_and_refuses_a_stale_one(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.sqlite")
    first = store.set_prompt_text("cieszyn", "greeting", "Witamy.", "anna", current="Cieszyn.")
    second = store.set_prompt_text("cieszyn", "greeting", "Dzień dobry.", "jan", "ignored")
    assert (first.old_text, first.new_text, second.old_text) == ("Cieszyn.", "Witamy.", "Witamy.")
    with pytest.raises(StaleEdit) as stale:
        store.set_prompt_text("cieszyn", "greeting", "X.", "anna", "-", expected="Witamy.")
    assert stale.value.current == "Dzień dobry."
    assert store.prompt_texts("cieszyn") == {"greeting": "Dzień dobry."}
    assert [e.who for e in store.prompt_history("cieszyn", "greeting")] == ["jan", "anna"]
    assert store.revision() == second.revision > first.revision


def test_admin_tokens_are_kept_only_as_hashes(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.sqlite")
    token = store.create_token("anna", "cieszyn")
    assert store.check_token(token) is not None
    assert store.check_token(token + "x") is None
    assert token.encode() not in (tmp_path / "state.sqlite").read_bytes()
    with sqlite3.connect(tmp_path / "state.sqlite") as db:
        assert token not in str(db.execute("SELECT * FROM admin_tokens").fetchall())
    assert store.revoke_token("anna") and store.check_token(token) is None
    assert (tmp_path / "state.sqlite").stat().st_mode & 0o077 == 0


async def test_an_edit_is_rendered_recorded_and_live(admin: PromptAdmin) -> None:
    book = admin.deployment.tenants["cieszyn"].prompts
    await book.set_text("greeting", book.texts["greeting"])  # as render_all would
    before = book.media("greeting")
    edit = await admin.set("cieszyn", "greeting", "  Witamy   w Cieszynie. ", who="anna")
    assert edit.new_text == "Witamy w Cieszynie." and edit.old_text == "Cieszyn."
    after = book.media("greeting")
    assert after != before
    assert Path(before.removeprefix("sound:") + ".wav").exists()  # a call playing it finishes
    assert Path(after.removeprefix("sound:") + ".wav").exists()
    # Another tenant with the same default text is not touched.
    assert admin.deployment.tenants["izbica"].prompts.texts["greeting"] == "Izbica."


async def test_edits_made_elsewhere_reach_a_running_app(
    admin: PromptAdmin, env: dict[str, str]
) -> None:
    """The CLI writes to the store; the app's sync() makes it live."""
    other = PromptAdmin(
        build_deployment(
            load_settings(TEST_CONFIG, env=env, resolve_secrets=False), with_adapters=False
        ),
        Store(Path(env["INFOLINIA_STATE"])),
    )
    admin.load_stored()
    assert await admin.sync() == 0
    await other.set("echo", "greeting", "Zmienione z konsoli.", who="cli:root")
    assert await admin.sync() == 1
    assert admin.deployment.tenants["echo"].prompts.texts["greeting"] == "Zmienione z konsoli."


@pytest.fixture
async def client(admin: PromptAdmin) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with TestClient(TestServer(AdminApi(admin).app())) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_the_api_needs_a_token_for_the_right_tenant(
    client: TestClient[web.Request, web.Application], admin: PromptAdmin
) -> None:
    token = admin.store.create_token("anna", "cieszyn")
    assert (await client.get("/api/tenants")).status == 401
    assert (await client.get("/api/tenants", headers=bearer("wrong"))).status == 401
    answer = await client.get("/api/tenants", headers=bearer(token))
    assert (await answer.json()) == {"tenants": ["cieszyn"]}
    other = await client.get("/api/tenants/izbica/prompts", headers=bearer(token))
    assert other.status == 403
    put = await client.put(
        "/api/tenants/izbica/prompts/greeting", json={"text": "x"}, headers=bearer(token)
    )
    assert put.status == 403
    assert admin.deployment.tenants["izbica"].prompts.texts["greeting"] == "Izbica."


async def test_the_api_lists_changes_previews_and_refuses_lost_updates(
    client: TestClient[web.Request, web.Application], admin: PromptAdmin
) -> None:
    headers = bearer(admin.store.create_token("anna", "*"))
    url = "/api/tenants/cieszyn/prompts"
    listed = await (await client.get(url, headers=headers)).json()
    greeting = next(p for p in listed["prompts"] if p["key"] == "greeting")
    assert (greeting["text"], greeting["source"]) == ("Cieszyn.", "config")
    assert all(not p["key"].startswith("w_") for p in listed["prompts"])  # number words

    preview = await client.post(url + "/greeting/preview", json={"text": "Próba."}, headers=headers)
    assert preview.status == 200 and preview.content_type == "audio/wav"
    with wave.open(io.BytesIO(await preview.read())) as audio:
        assert audio.getframerate() == 8000 and audio.getnframes() > 800
    assert admin.deployment.tenants["cieszyn"].prompts.texts["greeting"] == "Cieszyn."

    changed = await client.put(
        url + "/greeting",
        json={"text": "Nowy tekst.", "expected_text": "Cieszyn."},
        headers=headers,
    )
    assert changed.status == 200 and (await changed.json())["who"] == "anna"
    lost = await client.put(
        url + "/greeting", json={"text": "Inny.", "expected_text": "Cieszyn."}, headers=headers
    )
    assert lost.status == 409 and (await lost.json())["current_text"] == "Nowy tekst."
    history = await (await client.get(url + "/greeting/history", headers=headers)).json()
    assert [(h["old_text"], h["new_text"]) for h in history["history"]] == [
        ("Cieszyn.", "Nowy tekst.")
    ]
    shown = await (await client.get(url + "/greeting", headers=headers)).json()
    assert (shown["text"], shown["source"]) == ("Nowy tekst.", "edited")
    audio = await client.get(url + "/greeting/audio", headers=headers)
    assert audio.status == 200 and (await audio.read())[:4] == b"RIFF"

    for bad, status in [
        ({"text": ""}, 400),
        ({"text": "x" * 1001}, 400),
        ({"text": 5}, 400),
    ]:
        assert (await client.put(url + "/greeting", json=bad, headers=headers)).status == status
    missing = await client.put(url + "/no_such_prompt", json={"text": "x"}, headers=headers)
    assert missing.status == 404
    word = await client.put(url + "/w_dwa", json={"text": "trzy"}, headers=headers)
    assert word.status == 404


def test_the_prompts_command_sets_shows_and_keeps_history(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = ["--config", str(TEST_CONFIG)]
    assert (
        main([*config, "prompts", "set", "cieszyn", "greeting", "Z konsoli.", "--who", "ja"]) == 0
    )
    assert main([*config, "prompts", "show", "cieszyn", "greeting"]) == 0
    assert "cieszyn/greeting (edited): Z konsoli." in capsys.readouterr().out
    stale = ["prompts", "set", "cieszyn", "greeting", "X.", "--expect", "Cieszyn."]
    assert main([*config, *stale]) == 1
    assert "the text is now 'Z konsoli.'" in capsys.readouterr().err
    assert main([*config, "prompts", "history", "cieszyn", "greeting"]) == 0
    assert "ja greeting: 'Cieszyn.' -> 'Z konsoli.'" in capsys.readouterr().out
    out = Path(env["INFOLINIA_STATE"]).with_name("greeting.wav")
    assert main([*config, "prompts", "play", "cieszyn", "greeting", "--out", str(out)]) == 0
    with wave.open(str(out)) as audio:
        assert audio.getframerate() == 8000
    assert main([*config, "prompts", "set", "nowhere", "greeting", "x"]) == 2
    assert "no tenant 'nowhere'" in capsys.readouterr().err


@pytest.fixture
def full_dir(tmp_path: Path) -> Iterator[Path]:
    """A tiny file system, filled up: writing there fails with ENOSPC, for real."""
    full = tmp_path / "full"
    full.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(full)], check=True)
    try:
        with contextlib.suppress(OSError), (full / "filler").open("wb") as out:
            out.write(b"\0" * 65536)
        yield full
    finally:
        subprocess.run(["umount", "-l", str(full)], check=True)


async def test_a_full_disk_refuses_an_edit_and_changes_nothing(
    client: TestClient[web.Request, web.Application], admin: PromptAdmin, full_dir: Path
) -> None:
    book = admin.deployment.tenants["cieszyn"].prompts
    await book.set_text("greeting", book.texts["greeting"])
    before = book.media("greeting")
    book.cache.root = full_dir  # where new audio would go
    headers = bearer(admin.store.create_token("anna", "*"))
    answer = await client.put(
        "/api/tenants/cieszyn/prompts/greeting", json={"text": "Nowe."}, headers=headers
    )
    assert answer.status == 507
    assert book.texts["greeting"] == "Cieszyn." and book.media("greeting") == before
    assert admin.store.prompt_history("cieszyn") == []
