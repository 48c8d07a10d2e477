"""Prompts recorded by a voice talent: an upload is checked, trimmed,
brought to the synthesized prompts' loudness and converted; it is published
like a text edit (history, revert, audit) through PromptAdmin, the admin
API, the admin page and the command line, and restored from the store when
the prompt cache lost its files."""

import asyncio
import json
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient, TestServer

from stasis_app.admin.api import AdminApi
from stasis_app.admin.prompts import BadText, PromptAdmin
from stasis_app.admin.web import admin_pages
from stasis_app.admin.web.accounts import Accounts
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from stasis_app.store import StaleEdit
from stasis_app.telephony.live_calls import CallRegistry
from tests.conftest import TEST_CONFIG, TEST_PLUGINS
from tests.support.isolated_admin import isolated_prompt_admin
from voice import recording
from voice.recording import BadRecording, import_recording

# live_state: uses the test config's state, prompt cache or demo bank, as the
# real calls' app does (./dev test runs it with them, never beside them).
pytestmark = [pytest.mark.unit, pytest.mark.live_state]
PASSWORD = "dobre-haslo-123"


def sox(out: Path, *effects: str, rate: int = 44100, channels: int = 2) -> bytes:
    """A test sound made by sox: ``synth`` and friends."""
    cmd = ["sox", "-n", "-r", str(rate), "-c", str(channels), str(out), *effects]
    subprocess.run(cmd, check=True, capture_output=True)
    return out.read_bytes()


def levels(wav: Path) -> tuple[float, float, int, int]:
    """(RMS dB, peak dB, sample rate, channels) of a WAV, as sox measures them."""
    stats = subprocess.run(["sox", str(wav), "-n", "stats"], capture_output=True, text=True)
    found = dict(re.findall(r"^(RMS lev dB|Pk lev dB)\s+(-?[\d.]+)", stats.stderr, re.M))
    info = subprocess.run(["soxi", str(wav)], capture_output=True, text=True).stdout
    rate = int(re.search(r"Sample Rate\s*:\s*(\d+)", info).group(1))  # type: ignore[union-attr]
    chans = int(re.search(r"Channels\s*:\s*(\d+)", info).group(1))  # type: ignore[union-attr]
    return float(found["RMS lev dB"]), float(found["Pk lev dB"]), rate, chans


@pytest.mark.parametrize("volume", ["0.9", "0.02"])
def test_loud_and_quiet_uploads_end_at_the_synthesized_loudness(
    tmp_path: Path, volume: str
) -> None:
    data = sox(tmp_path / "in.wav", "synth", "2", "sine", "440", "vol", volume)
    made = import_recording(data, tmp_path / "cache")
    rms, peak, rate, channels = levels(made.base.with_suffix(".wav"))
    assert abs(rms - recording.TARGET_RMS_DBFS) < 0.5, rms
    assert peak <= recording.PEAK_CEILING_DBFS
    assert (rate, channels) == (8000, 1)
    assert made.base.with_suffix(".sln16").stat().st_size > 0
    assert made.base.is_relative_to(tmp_path / "cache" / "recordings")


def test_a_peaky_upload_is_held_below_the_ceiling_rather_than_at_the_target(
    tmp_path: Path,
) -> None:
    # Mostly quiet with one loud click: reaching -22 dB RMS would clip the click.
    data = sox(tmp_path / "in.wav", "synth", "2", "sine", "440", "vol", "0.01", "pad", "0", "0")
    quiet = tmp_path / "click.wav"
    sox(quiet, "synth", "0.02", "square", "200", "vol", "0.99")
    mixed = tmp_path / "mixed.wav"
    subprocess.run(["sox", str(tmp_path / "in.wav"), str(quiet), str(mixed)], check=True)
    made = import_recording(mixed.read_bytes(), tmp_path / "cache")
    rms, peak, _, _ = levels(made.base.with_suffix(".wav"))
    assert peak <= -0.5  # the ceiling, plus what resampling a square wave overshoots
    assert rms < recording.TARGET_RMS_DBFS  # the ceiling won
    assert data  # the tone itself was made


def test_silence_at_both_ends_is_trimmed(tmp_path: Path) -> None:
    data = sox(tmp_path / "in.wav", "synth", "1", "sine", "440", "pad", "1.5", "1")
    assert import_recording(data, tmp_path / "cache").seconds == pytest.approx(1.0, abs=0.05)


def test_an_mp3_is_taken_like_a_wav(tmp_path: Path) -> None:
    sox(tmp_path / "in.wav", "synth", "1.5", "sine", "330", "vol", "0.3")
    mp3 = tmp_path / "in.mp3"
    wav = str(tmp_path / "in.wav")
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", wav, str(mp3)], check=True)
    made = import_recording(mp3.read_bytes(), tmp_path / "cache")
    assert made.kind == "mp3"
    assert abs(levels(made.base.with_suffix(".wav"))[0] - recording.TARGET_RMS_DBFS) < 0.5


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda d: b"Dzien dobry, to jest tekst, nie nagranie.", "neither WAV nor MP3"),
        (lambda d: b"RIFF\x00\x00\x00\x00WAVEfmt garbage", "format .fmt. chunk is cut short"),
        (lambda d: sox(d / "s.wav", "trim", "0", "2"), "silent"),
        (lambda d: sox(d / "t.wav", "synth", "0.1", "sine", "440"), "lasts 0.1 s"),
        (lambda d: sox(d / "l.wav", "synth", "181", "sine", "440", rate=8000), "lasts 181.0 s"),
        (lambda d: b"RIFF\x00\x00\x00\x00WAVE" + bytes(recording.MAX_BYTES), "larger than"),
        (lambda d: b"", "empty"),
    ],
)
def test_an_upload_that_cannot_be_a_prompt_is_refused_with_the_reason(
    tmp_path: Path, make: object, words: str
) -> None:
    data = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(BadRecording, match=words):
        import_recording(data, tmp_path / "cache")
    assert not [p for p in (tmp_path / "cache").rglob("*") if not p.is_dir()]  # nothing left


@pytest.fixture
def admin(tmp_path: Path) -> PromptAdmin:
    return isolated_prompt_admin(tmp_path)


async def test_a_recording_is_published_kept_and_reverted_like_a_text(
    admin: PromptAdmin, talent: bytes
) -> None:
    book = admin.deployment.tenants["cieszyn"].prompts
    edit = await admin.set_recording(
        "cieszyn", "greeting", talent, "Dzień dobry, tu nagranie lektora.", who="anna",
        expected="Cieszyn.",
    )  # fmt: skip
    info = admin.show("cieszyn", "greeting")
    assert info.recorded and info.text == "Dzień dobry, tu nagranie lektora."
    assert "/recordings/" in book.media("greeting") and info.media == book.media("greeting")
    assert recording.is_marker(edit.new_text) and edit.old_text == "Cieszyn."
    # The editor of a recorded prompt sees its transcript; a stale one is refused.
    with pytest.raises(StaleEdit):
        await admin.set("cieszyn", "greeting", "Inny.", who="ewa", expected="Cieszyn.")
    await admin.set("cieszyn", "greeting", "Tekst.", who="ewa", expected=info.text)
    assert "/recordings/" not in book.media("greeting")
    await admin.revert("cieszyn", "greeting", edit.revision + 1, who="ewa", expected="Tekst.")
    assert admin.show("cieszyn", "greeting").recorded


async def test_recordings_lost_from_the_cache_are_made_again_from_the_store(
    admin: PromptAdmin, talent: bytes
) -> None:
    await admin.set_recording("cieszyn", "greeting", talent, "Nagranie.", who="anna")
    folder = admin.deployment.tenants["cieszyn"].prompts.cache.root / "recordings"
    shutil.rmtree(folder)
    settings = load_settings(
        TEST_CONFIG,
        env={"INFOLINIA_STATE": str(admin.store.path), "INFOLINIA_PROMPT_DIR": str(folder.parent)},
        resolve_secrets=False,
    )
    fresh = PromptAdmin(build_deployment(settings, with_adapters=False), admin.store)
    assert fresh.load_stored() >= 1
    book = fresh.deployment.tenants["cieszyn"].prompts
    # What render_all does for this prompt (the others would only cost time here).
    await book.set_text("greeting", book.texts["greeting"])
    assert "/recordings/" in book.media("greeting")
    assert book.engines_used().get("recording") == 1


async def test_a_typed_text_cannot_pose_as_a_recording(admin: PromptAdmin) -> None:
    with pytest.raises(BadText):
        await admin.set("cieszyn", "greeting", "@recording:abc Dzień dobry.", who="x")
    with pytest.raises(BadText, match="neither WAV nor MP3"):
        await admin.set_recording("cieszyn", "greeting", b"not audio", "Tekst.", who="x")


@pytest.fixture
async def client(admin: PromptAdmin) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    accounts = Accounts(admin.store)
    accounts.set_user("anna", "admin", "cieszyn", PASSWORD)
    accounts.set_user("ewa", "auditor", "cieszyn", PASSWORD)
    pages = admin_pages(admin, CallRegistry(), accounts)
    async with TestClient(TestServer(AdminApi(admin, None, pages).app())) as client:
        yield client


async def test_the_api_takes_a_recording_and_keeps_other_requests_small(
    client: TestClient[web.Request, web.Application], admin: PromptAdmin, talent: bytes
) -> None:
    auth = {"Authorization": f"Bearer {admin.store.create_token('anna', 'cieszyn')}"}
    url = "/api/tenants/cieszyn/prompts/greeting"
    answer = await client.put(
        url + "/recording", params={"transcript": "Nagranie lektora."}, data=talent, headers=auth
    )
    assert answer.status == 200, await answer.text()
    shown = await (await client.get(url, headers=auth)).json()
    assert shown["recorded"] and shown["text"] == "Nagranie lektora."
    refused = await client.put(
        url + "/recording", params={"transcript": "x"}, data=b"abc", headers=auth
    )
    assert refused.status == 400 and "neither WAV nor MP3" in (await refused.json())["error"]
    big = await client.put(url, data=json.dumps({"text": "x" * 20000}), headers=auth)
    assert big.status == 413


async def login(client: TestClient[web.Request, web.Application], user: str) -> str:
    form = await client.get("/admin/login")
    token = re.search(r'name="csrf" value="([^"]+)"', await form.text()).group(1)  # type: ignore[union-attr]
    answer = await client.post(
        "/admin/login", data={"user": user, "password": PASSWORD, "csrf": token}
    )
    return re.search(r'name="csrf" value="([^"]+)"', await answer.text()).group(1)  # type: ignore[union-attr]


async def test_an_admin_uploads_a_recording_from_the_page_and_an_auditor_cannot(
    client: TestClient[web.Request, web.Application], admin: PromptAdmin, talent: bytes
) -> None:
    def form(csrf: str) -> FormData:
        data = FormData()
        data.add_field("csrf", csrf)
        data.add_field("expected", "Cieszyn.")
        data.add_field("transcript", "Witamy, tu lektor.")
        data.add_field("audio", talent, filename="lektor.wav", content_type="audio/wav")
        return data

    url = "/admin/prompts/cieszyn/greeting"
    csrf = await login(client, "ewa")
    assert (await client.post(url + "/recording", data=form(csrf))).status == 403
    csrf = await login(client, "anna")
    answer = await client.post(url + "/recording", data=form(csrf))
    page = await answer.text()
    assert answer.status == 200 and "Opublikowano" in page, page
    assert "Witamy, tu lektor." in page and "nagranie lektora" in page
    assert "(nagranie) Witamy, tu lektor." in page  # in the history
    assert admin.show("cieszyn", "greeting").recorded


def test_the_command_line_records_a_prompt(tmp_path: Path, talent: bytes) -> None:
    (tmp_path / "talent.wav").write_bytes(talent)
    env = {
        "INFOLINIA_STATE": str(tmp_path / "state.sqlite"),
        "INFOLINIA_PROMPT_DIR": str(tmp_path / "prompts"),
        "INFOLINIA_PLUGINS": TEST_PLUGINS,  # the test config's online stand-in
        "PATH": "/usr/bin:/bin",
    }
    base = [sys.executable, "-m", "stasis_app", "--config", str(TEST_CONFIG), "prompts"]
    done = subprocess.run(
        [*base, "record", "cieszyn", "greeting", str(tmp_path / "talent.wav"),
         "--transcript", "Nagranie z konsoli."],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = subprocess.run(
        [*base, "show", "cieszyn", "greeting", "--json"], capture_output=True, text=True, env=env
    )
    info = json.loads(shown.stdout)
    assert info["recorded"] and info["text"] == "Nagranie z konsoli."
    missing = subprocess.run(
        [*base, "record", "cieszyn", "greeting", str(tmp_path / "nope.wav"), "--transcript", "x"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    asyncio.run(asyncio.sleep(0))  # nothing async is left running


async def test_a_recording_uploaded_on_one_node_goes_live_on_another(
    tmp_path: Path, talent: bytes
) -> None:
    """Two nodes share the state store but each has its own prompt folder
    (each renders into its own Asterisk's sounds): the node the upload did
    not reach converts the recording from the store when it follows edits,
    and plays it from its own folder."""
    first = isolated_prompt_admin(tmp_path / "node-1")
    settings = load_settings(
        TEST_CONFIG,
        env={
            "INFOLINIA_STATE": str(first.store.path),
            "INFOLINIA_PROMPT_DIR": str(tmp_path / "node-2" / "prompts"),
        },
        resolve_secrets=False,
    )
    second = PromptAdmin(build_deployment(settings, with_adapters=False), first.store)
    second.load_stored()
    book = second.deployment.tenants["cieszyn"].prompts
    await book.set_text("greeting", book.texts["greeting"])  # what render_all does
    await first.set_recording("cieszyn", "greeting", talent, "Nagranie.", who="anna")

    assert await second.sync() == 1
    media = book.media("greeting")
    assert "/recordings/" in media and str(tmp_path / "node-2") in media
    assert book.engines_used().get("recording") == 1
