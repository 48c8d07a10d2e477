"""Piper: an offline neural voice (VITS) a bank supplies, run by sherpa-onnx.

A bank puts a Piper voice on the machine (the ``.onnx`` model and its
``.onnx.json``, as Piper publishes them) and names it in a chain::

    voice:
      engines:
        - {name: piper, settings: {model: /srv/voices/pl_PL-gosia-medium.onnx}}
        - {name: espeak-ng}

Nothing is downloaded, ever: the files are the bank's. The text becomes
phonemes through the ``espeak-ng`` program (a separate process, as for the
espeak-ng engine: its GPL code never runs inside infolinia), the phonemes
become ids through the voice's own ``phoneme_id_map``, and sherpa-onnx
(Apache-2.0, with ONNX Runtime, MIT) runs the model in this process, in a
worker thread, one text at a time.

sherpa-onnx wants a few facts of its own inside the model file (its sample
rate, that it is a Piper voice) and, when they are missing, ends the whole
process instead of raising. So the file is read here first
(:func:`onnx_facts`): it must be an ONNX model whose graph takes Piper's
inputs; the missing facts are taken from the ``.onnx.json`` and appended to
a temporary copy that sherpa-onnx reads once at start-up. A file that is not
a Piper voice stops the start with an error naming ``settings.model``.

The engine's identity holds SHA-256 prefixes of the model and its
``.onnx.json``, so renderings of two voices (or of two releases of one
voice under the same name) never share a cache entry.
"""

import array
import asyncio
import hashlib
import importlib
import importlib.metadata
import json
import mmap
import re
import shutil
import subprocess
import tempfile
import threading
import wave
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from voice.engine import SynthesisError

# What sherpa-onnx must find in a Piper model's metadata (and ends the
# process without). Values come from the voice's .onnx.json.
_SHERPA_KEYS = ("model_type", "comment", "language", "voice", "has_espeak", "n_speakers")
# The inputs of every Piper VITS graph ("sid" too for a voice of several speakers).
_PIPER_INPUTS = {"input", "input_lengths", "scales"}
# Ends of clauses espeak-ng breaks its phoneme output at; Piper's voices
# have ids for them, and they shape the intonation.
_CLAUSE_END = re.compile(r"[.,;:!?](?=\s|$)")
_SENTENCE_END = ".!?"


class PiperSettings(BaseModel):
    """A Piper voice's settings in a chain (``voice.engines[].settings``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: Path = Field(description="the voice's .onnx file, on this machine")
    config: Path | None = Field(
        default=None, description="its .onnx.json (default: beside the model, MODEL.json)"
    )
    espeak_voice: str | None = Field(
        default=None, description="espeak-ng voice for phonemes (default: the voice's own)"
    )
    speaker: int = Field(default=0, ge=0, description="speaker of a voice with several")
    speed: float = Field(default=1.0, ge=0.5, le=2.0, description="1.0 is the voice's own pace")
    threads: int = Field(default=1, ge=1, le=8, description="ONNX Runtime threads per text")

    @field_validator("model", "config")
    @classmethod
    def _readable_file(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError(f"no such file: {path}")
        return path


class VoiceFileError(ValueError):
    """A voice's file is missing or is not what a Piper voice is: ``field``
    is the setting that names it (``settings.model``, ``settings.config``)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field


@dataclass(frozen=True)
class OnnxFacts:
    """What :func:`onnx_facts` read from a model file."""

    inputs: tuple[str, ...]  # the graph's input names
    metadata: Mapping[str, str]  # metadata_props


def _varint(buf: mmap.mmap | bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("not an ONNX model (a number runs past the file's end)")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buf: mmap.mmap | bytes, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """The fields of one protobuf message: (field, wire type, value or
    offset, length). Length-delimited payloads are skipped, not read."""
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield field, wire, value, 0
            continue
        if wire == 2:
            length, pos = _varint(buf, pos)
        elif wire in (1, 5):
            length = 8 if wire == 1 else 4
        else:
            raise ValueError(f"not an ONNX model (protobuf wire type {wire})")
        if pos + length > end:
            raise ValueError("not an ONNX model (a field runs past its end)")
        yield field, wire, pos, length
        pos += length


def _string(buf: mmap.mmap | bytes, start: int, length: int) -> str:
    return bytes(buf[start : start + length]).decode("utf-8", errors="replace")


def onnx_facts(path: Path) -> OnnxFacts:
    """Read a model file's graph inputs and metadata without loading it
    (ONNX's ``ModelProto``: graph = 7, metadata_props = 14; the graph's
    inputs = 11, each named by field 1). Raises ValueError for a file that
    is not an ONNX model."""
    inputs: list[str] = []
    metadata: dict[str, str] = {}
    with path.open("rb") as file:
        if path.stat().st_size == 0:
            raise ValueError("not an ONNX model (empty file)")
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            saw_version = False
            for field, wire, at, length in _fields(buf, 0, len(buf)):
                if field == 1 and wire == 0:
                    saw_version = True
                elif field == 7 and wire == 2:
                    for gfield, gwire, gat, glength in _fields(buf, at, at + length):
                        if gfield == 11 and gwire == 2:
                            for vfield, vwire, vat, vlength in _fields(buf, gat, gat + glength):
                                if vfield == 1 and vwire == 2:
                                    inputs.append(_string(buf, vat, vlength))
                elif field == 14 and wire == 2:
                    entry = {
                        efield: _string(buf, eat, elength)
                        for efield, ewire, eat, elength in _fields(buf, at, at + length)
                        if ewire == 2
                    }
                    metadata[entry.get(1, "")] = entry.get(2, "")
    if not saw_version or not inputs:
        raise ValueError("not an ONNX model (no IR version or no graph inputs)")
    return OnnxFacts(tuple(inputs), metadata)


def _length_delimited(field: int, payload: bytes) -> bytes:
    def varint(n: int) -> bytes:
        out = bytearray()
        while True:
            low, n = n & 0x7F, n >> 7
            out.append(low | (0x80 if n else 0))
            if not n:
                return bytes(out)

    return varint(field << 3 | 2) + varint(len(payload)) + payload


def with_metadata(model: Path, extra: Mapping[str, str], out: Path) -> None:
    """Copy ``model`` to ``out`` with ``extra`` added to its metadata_props
    (a protobuf message may repeat a field anywhere: appending is enough)."""
    shutil.copyfile(model, out)
    with out.open("ab") as file:
        for key, value in extra.items():
            entry = _length_delimited(1, key.encode()) + _length_delimited(2, value.encode())
            file.write(_length_delimited(14, entry))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _sherpa() -> Any:
    """The sherpa_onnx module (untyped), or a SynthesisError saying how to get it."""
    try:
        return importlib.import_module("sherpa_onnx")
    except ImportError:
        raise SynthesisError(
            "sherpa-onnx is not installed (pip install 'infolinia[neural]')"
        ) from None


class PiperEngine:
    """Speaks with a Piper voice through sherpa-onnx; phonemes from espeak-ng."""

    offline = True  # the text never leaves the machine (see voice.live)

    def __init__(
        self,
        model: Path,
        config: Path | None = None,
        *,
        espeak_voice: str | None = None,
        speaker: int = 0,
        speed: float = 1.0,
        threads: int = 1,
        espeak_binary: str = "espeak-ng",
    ) -> None:
        sherpa = _sherpa()
        espeak = shutil.which(espeak_binary)
        if espeak is None:
            raise SynthesisError(f"{espeak_binary} is not installed (Debian package espeak-ng)")
        self.espeak = espeak
        self.model = model
        self.config = config or model.with_name(model.name + ".json")
        config_field = "settings.config" if config else "settings.model"
        if not self.config.is_file():
            raise VoiceFileError(config_field, f"the voice's .onnx.json is missing: {self.config}")
        try:
            voice = json.loads(self.config.read_text(encoding="utf-8"))
            self.phoneme_ids: dict[str, int] = {
                symbol: ids[0] for symbol, ids in voice["phoneme_id_map"].items() if ids
            }
            self.sample_rate = int(voice["audio"]["sample_rate"])
            speakers = int(voice.get("num_speakers", 1))
            voice_name = espeak_voice or str(voice["espeak"]["voice"])
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            raise VoiceFileError(
                config_field, f"not a Piper voice's .onnx.json: {self.config}"
            ) from None
        if speaker >= speakers:
            raise VoiceFileError(
                "settings.speaker", f"the voice has {speakers} speaker(s), numbered from 0"
            )
        try:
            facts = onnx_facts(model)
        except ValueError as exc:
            raise VoiceFileError("settings.model", f"{exc}: {model}") from None
        if not _PIPER_INPUTS.issubset(facts.inputs):
            raise VoiceFileError(
                "settings.model", f"not a Piper voice (its inputs are {list(facts.inputs)})"
            )
        comment = facts.metadata.get("comment", "piper")
        if comment != "piper":
            raise VoiceFileError(
                "settings.model", f"not a Piper voice (its metadata says comment={comment!r})"
            )
        probe = subprocess.run(
            [espeak, "-q", "--ipa", "-v", voice_name, "--stdin"],
            input="a",
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode != 0:
            field = "settings.espeak_voice" if espeak_voice else config_field
            raise VoiceFileError(field, f"espeak-ng has no voice {voice_name!r}")
        self.espeak_voice = voice_name
        # Part of the identity, which must not fail later: asked now.
        version = subprocess.run(
            [espeak, "--version"], capture_output=True, text=True, check=True
        ).stdout
        self.espeak_version = version.split(":", 1)[1].split()[0] if ":" in version else version
        self.speaker = speaker
        self.speed = speed
        self.threads = threads
        self.model_sha256 = _sha256(model)
        self.config_sha256 = _sha256(self.config)
        wanted = {
            "model_type": "vits",
            "comment": "piper",
            "language": str(voice.get("language", {}).get("name_english", voice_name)),
            "voice": voice_name,
            "has_espeak": "1",
            "n_speakers": str(speakers),
            "sample_rate": str(self.sample_rate),
        }
        missing = {key: value for key, value in wanted.items() if key not in facts.metadata}
        with tempfile.TemporaryDirectory(prefix="infolinia-piper-") as work:
            tokens = Path(work) / "tokens.txt"
            tokens.write_text(
                "".join(f"{symbol} {id_}\n" for symbol, id_ in self.phoneme_ids.items()),
                encoding="utf-8",
            )
            loaded = model
            if missing:
                loaded = Path(work) / "model.onnx"
                with_metadata(model, missing, loaded)
            # sherpa-onnx reads both files here; the temporary copies go after.
            self._tts = sherpa.OfflineTts(
                sherpa.OfflineTtsConfig(
                    model=sherpa.OfflineTtsModelConfig(
                        vits=sherpa.OfflineTtsVitsModelConfig(
                            model=str(loaded), tokens=str(tokens)
                        ),
                        num_threads=threads,
                        provider="cpu",
                    )
                )
            )
        self._generation = sherpa.GenerationConfig
        self._lock = threading.Lock()  # one text at a time through one model
        self.sherpa_version = importlib.metadata.version("sherpa-onnx")

    @property
    def identity(self) -> str:
        return (
            f"piper {self.model.stem} model=sha256:{self.model_sha256[:16]}"
            f" config=sha256:{self.config_sha256[:16]} sherpa-onnx {self.sherpa_version}"
            f" espeak-ng {self.espeak_version} phonemes={self.espeak_voice}"
            f" speaker={self.speaker} speed={self.speed:g}"
        )

    async def phonemes(self, text: str) -> list[list[int]]:
        """``text`` as Piper hears it: per sentence, the code points of its
        IPA phonemes (from espeak-ng) and clause punctuation, keeping only
        what the voice has ids for."""
        # Text through stdin, never argv: it may be customer data.
        try:
            proc = await asyncio.create_subprocess_exec(
                self.espeak,
                "-q",
                "--ipa",
                "-v",
                self.espeak_voice,
                "--stdin",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise SynthesisError(f"espeak-ng cannot be run for phonemes ({exc.strerror})") from None
        out, err = await proc.communicate(text.encode("utf-8"))
        if proc.returncode != 0:
            raise SynthesisError(
                f"espeak-ng could not make phonemes (exit {proc.returncode}):"
                f" {err.decode(errors='replace').strip()[:200]}"
            )
        clauses = [line.strip() for line in out.decode("utf-8").splitlines() if line.strip()]
        ends = _CLAUSE_END.findall(text)
        if len(ends) not in (len(clauses), len(clauses) - 1):
            ends = []  # espeak-ng broke the text elsewhere: no punctuation rather than wrong
        sentences: list[list[int]] = []
        current: list[int] = []
        for n, clause in enumerate(clauses):
            end = ends[n] if n < len(ends) else ""
            spoken = clause + end
            if current:
                spoken = " " + spoken
            current.extend(ord(ch) for ch in spoken if ch in self.phoneme_ids)
            if end in _SENTENCE_END or n == len(clauses) - 1:
                if current:
                    sentences.append(current)
                current = []
        return sentences

    async def synthesize(self, text: str, out: Path) -> None:
        sentences = await self.phonemes(text)
        if not any(sentences):
            raise SynthesisError("the Piper voice found nothing to speak in the text")
        samples = await asyncio.to_thread(self._generate, sentences)
        await asyncio.to_thread(self._write_wav, samples, out)

    def _generate(self, sentences: list[list[int]]) -> list[float]:
        config = self._generation()
        config.phoneme_codepoints = sentences
        config.sid = self.speaker
        config.speed = self.speed
        with self._lock:
            audio = self._tts.generate("", config)
        samples: list[float] = list(audio.samples)
        if not samples:
            raise SynthesisError("the Piper voice produced no audio")
        return samples

    def _write_wav(self, samples: list[float], out: Path) -> None:
        pcm = array.array("h", (int(max(-1.0, min(1.0, s)) * 32767) for s in samples))
        with wave.open(str(out), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(self.sample_rate)
            wav.writeframes(pcm.tobytes())
