"""What uploads and previews leave on disk and in the store (issue 17,
point 10): an upload is kept only when it is published; a refused or stale
one leaves no file and no row and is audited with the reason; previews of
texts nobody publishes render into a bounded area, not the prompt cache;
what a crash left halfway is cleared at the next start."""

import asyncio
import json
import os
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from stasis_app.admin.api import AdminApi
from stasis_app.admin.prompts import BadText, PromptAdmin, UploadsBusy
from stasis_app.safeguards.audit import AuditLog
from stasis_app.store import StaleEdit
from tests.support.isolated_admin import isolated_prompt_admin
from voice import preview, recording
from voice.recording import sha_of

pytestmark = pytest.mark.unit


@pytest.fixture
def admin(tmp_path: Path) -> PromptAdmin:
    return isolated_prompt_admin(tmp_path)


def files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if not p.is_dir()} if folder.exists() else set()


def cache_root(admin: PromptAdmin) -> Path:
    return admin.deployment.tenants["cieszyn"].prompts.cache.root


def uploads_audited(admin: PromptAdmin) -> list[tuple[str, dict[str, object]]]:
    return [
        (e.result, json.loads(e.detail))
        for e in AuditLog(admin.store).entries(tenant="cieszyn")
        if e.action == "prompt_recording"
    ]


@pytest.fixture
def silent(tmp_path: Path) -> bytes:
    wav = tmp_path / "silent.wav"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", str(wav), "trim", "0", "2"], check=True)
    return wav.read_bytes()


async def test_a_refused_upload_leaves_nothing_and_is_audited(
    admin: PromptAdmin, silent: bytes
) -> None:
    before = files(cache_root(admin))
    with pytest.raises(BadText, match="silent"):
        await admin.set_recording("cieszyn", "greeting", silent, "Cisza.", who="anna")
    assert files(cache_root(admin)) == before
    assert admin.store.recording_data(sha_of(silent)) is None
    [(result, detail)] = uploads_audited(admin)
    assert result == "refused" and detail["who"] == "anna" and detail["prompt"] == "greeting"
    assert detail["reason"] == "the recording is silent" and detail["bytes"] == len(silent)


async def test_a_stale_upload_leaves_nothing_and_is_audited(
    admin: PromptAdmin, talent: bytes
) -> None:
    """An upload made against a text that changed since the editor saw it is
    refused as stale: no files, no row. Also when someone changes the prompt
    while the upload is being converted."""
    before = files(cache_root(admin))
    admin.store.set_prompt_text("cieszyn", "greeting", "Inny.", "ewa", "Cieszyn.")
    with pytest.raises(StaleEdit):
        await admin.set_recording(
            "cieszyn", "greeting", talent, "Nagranie.", who="anna", expected="Cieszyn."
        )
    assert files(cache_root(admin)) - before == set()
    assert admin.store.recording_data(sha_of(talent)) is None
    render = recording.render_upload

    def meanwhile(data: bytes, work: Path) -> recording.Recording:
        made = render(data, work)  # then another editor publishes (the CLI, say)
        admin.store.set_prompt_text("cieszyn", "greeting", "Jeszcze inny.", "ewa", "Inny.")
        return made

    recording.render_upload = meanwhile
    try:
        with pytest.raises(StaleEdit):
            await admin.set_recording(
                "cieszyn", "greeting", talent, "Nagranie.", who="anna", expected="Inny."
            )
    finally:
        recording.render_upload = render
    assert files(cache_root(admin)) - before == set()
    assert admin.store.recording_data(sha_of(talent)) is None
    assert [r for r, _ in uploads_audited(admin)] == ["stale", "stale"]
    assert admin.store.prompt_texts("cieszyn") == {"greeting": "Jeszcze inny."}


async def test_a_published_upload_is_kept_and_a_stale_copy_does_not_remove_it(
    admin: PromptAdmin, talent: bytes
) -> None:
    await admin.set_recording("cieszyn", "greeting", talent, "Nagranie.", who="anna")
    base = recording.base_path(cache_root(admin), sha_of(talent))
    assert admin.store.recording_data(sha_of(talent)) == talent
    with pytest.raises(StaleEdit):  # the same file again, on a text that moved on
        await admin.set_recording(
            "cieszyn", "greeting", talent, "Nagranie.", who="ewa", expected="Dawno."
        )
    assert base.with_suffix(".sln16").exists() and base.with_suffix(".wav").exists()
    assert not files(cache_root(admin) / recording.WORK_FOLDER)


async def test_previews_stay_out_of_the_cache_and_within_bounds(
    admin: PromptAdmin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(preview, "MAX_FILES", 3)
    root = cache_root(admin)
    await admin.preview("cieszyn", "greeting")  # the published text: rendered into the cache
    cached = files(root)
    for n in range(6):
        wav = await admin.preview("cieszyn", "greeting", f"Próba numer {n}.")
        assert wav.exists() and wav.is_relative_to(root / preview.FOLDER)
    assert files(root) - files(root / preview.FOLDER) == cached  # the cache did not grow
    assert len(files(root / preview.FOLDER)) == 3 * 2  # three renderings, .wav and .sln16
    heard = (await admin.preview("cieszyn", "greeting", "Próba numer 5.")).read_bytes()
    await admin.set("cieszyn", "greeting", "Próba numer 5.", who="anna")
    published = await admin.preview("cieszyn", "greeting")
    assert not published.is_relative_to(root / preview.FOLDER)
    assert published.read_bytes() == heard  # what the editor heard is what callers hear


async def test_a_preview_trimmed_away_is_rendered_again_when_asked_again(
    admin: PromptAdmin, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache remembers renderings it saw complete (500 banks share most
    texts); the preview area's trim makes it forget the ones it removes."""
    monkeypatch.setattr(preview, "MAX_FILES", 1)
    first = await admin.preview("cieszyn", "greeting", "Pierwsza próba.")
    assert await admin.preview("cieszyn", "greeting", "Pierwsza próba.") == first  # a hit
    await admin.preview("cieszyn", "greeting", "Druga próba.")
    assert not first.exists()  # trimmed: only one rendering is kept
    again = await admin.preview("cieszyn", "greeting", "Pierwsza próba.")
    assert again == first and again.exists() and again.with_suffix(".sln16").exists()


async def test_what_a_crash_left_is_cleared_at_the_next_start(
    admin: PromptAdmin, talent: bytes
) -> None:
    await admin.set_recording("cieszyn", "greeting", talent, "Nagranie.", who="anna")
    root = cache_root(admin)
    kept = recording.base_path(root, sha_of(talent)).with_suffix(".sln16")
    work = recording.work_folder(root)
    (work / "upload.wav").write_bytes(talent)
    orphan = recording.base_path(root, "ab" * 32).with_suffix(".wav")
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"RIFF")
    fresh = recording.base_path(root, "cd" * 32).with_suffix(".wav")  # an upload in progress
    fresh.parent.mkdir(parents=True, exist_ok=True)
    fresh.write_bytes(b"RIFF")
    old = time.time() - 2 * recording.STALE_SECONDS
    for path in (work, orphan, kept):
        os.utime(path, (old, old))
    admin.load_stored()
    assert not work.exists() and not orphan.exists()
    assert kept.exists() and fresh.exists()


@pytest.fixture
async def client(admin: PromptAdmin) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with TestClient(TestServer(AdminApi(admin).app())) as client:
        yield client


async def test_uploads_beyond_the_pool_are_turned_away_not_queued(
    admin: PromptAdmin, client: TestClient[web.Request, web.Application], talent: bytes
) -> None:
    auth = {"Authorization": f"Bearer {admin.store.create_token('anna', 'cieszyn')}"}
    gate = asyncio.Event()
    render = recording.render_upload
    loop = asyncio.get_running_loop()

    def held(data: bytes, work: Path) -> recording.Recording:
        asyncio.run_coroutine_threadsafe(gate.wait(), loop).result(timeout=30)
        return render(data, work)

    recording.render_upload = held
    try:
        waiting = [
            asyncio.create_task(admin.set_recording("cieszyn", "greeting", talent, "N.", "a"))
            for _ in range(4)
        ]
        await asyncio.sleep(0.2)
        with pytest.raises(UploadsBusy):
            await admin.set_recording("cieszyn", "greeting", talent, "N.", "cli:jan")
        answer = await client.put(
            "/api/tenants/cieszyn/prompts/greeting/recording",
            params={"transcript": "N."},
            data=talent,
            headers=auth,
        )
        assert answer.status == 429
        gate.set()
        await asyncio.gather(*waiting)
    finally:
        recording.render_upload = render
    assert [r for r, _ in uploads_audited(admin)] == ["refused"]  # the CLI's; the API's body unread
    assert not admin.uploads_busy()


async def test_a_stored_recording_todays_checks_refuse_does_not_stop_the_start(
    admin: PromptAdmin, talent: bytes
) -> None:
    """A recording accepted before the checks (a WAV header saying 1 Hz, say)
    is not decoded again when the cache lost it: it is logged, and the start
    goes on."""
    await admin.set_recording("cieszyn", "greeting", talent, "Nagranie.", who="anna")
    hostile = b"RIFF\x2c\x10\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x01\x00\x00\x00"
    hostile += b"\x02\x00\x00\x00\x02\x00\x10\x00data\x00\x10\x00\x00" + bytes(4096)
    admin.store.save_recording("ab" * 32, "wav", hostile, 1.0, "before")
    marker = recording.marker("ab" * 32, "Menu.")
    admin.store.set_prompt_text("cieszyn", "main_menu", marker, "x", "-")
    for path in files(cache_root(admin) / recording.FOLDER):
        path.unlink()
    assert admin.load_stored() >= 2  # both texts are loaded; one recording is made again
    assert recording.base_path(cache_root(admin), sha_of(talent)).with_suffix(".sln16").exists()
    assert not recording.base_path(cache_root(admin), "ab" * 32).with_suffix(".wav").exists()
