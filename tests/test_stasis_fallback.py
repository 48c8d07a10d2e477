"""When Stasis() comes back without the app having served the call (the app is
not connected), the dialplan speaks Polish and hands the caller to a
consultant, with a sound that Asterisk has before the app ever runs.

These tests read the dialplan and walk it for each STASISSTATUS; the real
call is in tests/test_real_stasis_fallback.py."""

import math
import re
import struct
import wave
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools import sandbox
from devtools.sandbox import Sandbox, SandboxError
from voice import fallback
from voice.convert import EXTENSIONS

pytestmark = pytest.mark.unit

EXTENSIONS_CONF = sandbox.ASTERISK_CONFIG / "extensions.conf"


@dataclass(frozen=True)
class Step:
    label: str | None
    app: str
    data: str


Dialplan = dict[str, dict[str, list[Step]]]  # context -> extension -> priorities


def read_dialplan(text: str) -> Dialplan:
    """The ``exten =>`` / ``same =>`` lines of an extensions.conf (sequential
    priorities only, which is all ours uses)."""
    plan: Dialplan = {}
    context = exten = ""
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            context = line[1:-1]
            plan.setdefault(context, {})
            continue
        kind, _, rest = line.partition("=>")
        kind, rest = kind.strip(), rest.strip()
        if kind == "exten":
            exten, priority, command = rest.split(",", 2)
            assert priority == "1", line
            plan[context][exten] = []
        elif kind == "same":
            priority, command = rest.split(",", 1)
            assert re.fullmatch(r"n(\(\w+\))?", priority), line
        else:
            continue  # [general] settings
        label = priority[2:-1] if priority.startswith("n(") else None
        app, _, data = command.partition("(")
        plan[context][exten].append(Step(label, app, data.removesuffix(")")))
    return plan


def pattern_matches(pattern: str, exten: str) -> bool:
    """Asterisk's extension patterns (``_1XX``, ``_[a-z0-9].``)."""
    if not pattern.startswith("_"):
        return pattern == exten
    regex = ""
    chars = iter(pattern[1:])
    for char in chars:
        if char == "[":
            regex += "[" + "".join(iter(lambda: next(chars), "]")) + "]"
        else:
            regex += {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}.get(
                char, re.escape(char)
            )
    return re.fullmatch(regex, exten) is not None


def find_extension(plan: Dialplan, context: str, exten: str) -> list[Step]:
    exact = plan[context].get(exten)
    if exact is not None:
        return exact
    found = [steps for name, steps in plan[context].items() if pattern_matches(name, exten)]
    assert found, f"no extension in {context} matches {exten}"
    return found[0]


def substitute(data: str, values: dict[str, str]) -> str:
    """``${NAME}`` as Asterisk expands it (an unset variable is empty)."""
    return re.sub(r"\$\{(\w+)\}", lambda m: values.get(m.group(1), ""), data)


def walk(plan: Dialplan, context: str, exten: str, variables: dict[str, str]) -> list[str]:
    """The applications a channel runs from ``context,exten,1`` (Dial never
    answered), as ``context: App(data)`` with variables substituted."""
    ran: list[str] = []
    steps, index = find_extension(plan, context, exten), 0
    while index < len(steps) and len(ran) < 50:
        step = steps[index]
        data = substitute(step.data, {**variables, "EXTEN": exten})
        ran.append(f"{context}: {step.app}({data})")
        target = ""
        if step.app == "Hangup":
            break
        if step.app == "GotoIf":
            condition, _, targets = data.partition("?")
            compared = re.fullmatch(r'\$\["(.*)" = "(.*)"\]', condition)
            assert compared is not None, f"a condition this test cannot read: {condition}"
            if_true, _, if_false = targets.partition(":")
            target = if_true if compared.group(1) == compared.group(2) else if_false
        elif step.app == "Goto":
            target = data
        if not target:
            index += 1
            continue
        *where, priority = target.split(",")
        if len(where) == 2:
            context = where[0]
        if where:
            exten = where[-1]
            steps = find_extension(plan, context, exten)
        labels = [s.label for s in steps]
        index = int(priority) - 1 if priority.isdigit() else labels.index(priority)
    return ran


PLAN = read_dialplan(EXTENSIONS_CONF.read_text())
PLAYBACK = f"infolinia-lines: Playback({fallback.SOUND_NAME})"


@pytest.mark.parametrize("status", ["FAILED", "SUCCESS"])
def test_a_call_stasis_gives_back_hears_the_fallback_then_rings_a_consultant(status: str) -> None:
    """FAILED: the app is not connected. SUCCESS: the app was stopping and
    handed back a call that had just arrived (stasis_app/telephony/gateway.py, _send_back).
    Neither caller was served, so neither is hung up on."""
    ran = walk(PLAN, "infolinia-lines", "100", {"STASISSTATUS": status})
    assert ran[:2] == [
        "infolinia-lines: NoOp(infolinia line 100)",
        "infolinia-lines: Stasis(infolinia,100)",
    ]
    after_stasis = ran[2:]
    assert "infolinia-lines: Hangup()" not in after_stasis
    answer = after_stasis.index("infolinia-lines: Answer()")
    playback = after_stasis.index(PLAYBACK)
    dial = after_stasis.index("infolinia-consultants: Dial(PJSIP/softphone,30)")
    assert answer < playback < dial
    # Nobody answers: a congestion tone before the hangup, never silence.
    assert after_stasis[dial + 1 :] == [
        "infolinia-consultants: Playtones(congestion)",
        "infolinia-consultants: Wait(4)",
        "infolinia-consultants: Hangup()",
    ]
    assert "infolinia-consultants: NoOp(consultant for 100)" in after_stasis


def test_each_status_is_logged_for_the_operator() -> None:
    failed = walk(PLAN, "infolinia-lines", "101", {"STASISSTATUS": "FAILED"})
    handed_back = walk(PLAN, "infolinia-lines", "101", {"STASISSTATUS": "SUCCESS"})
    assert [a for a in failed if "Log(WARNING" in a] == [
        "infolinia-lines: Log(WARNING,infolinia line 101: the app is not connected: "
        "fallback to a consultant)"
    ]
    assert [a for a in handed_back if "Log(NOTICE" in a] == [
        "infolinia-lines: Log(NOTICE,infolinia line 101: handed back by the app: "
        "fallback to a consultant)"
    ]


def test_an_invalid_extension_gets_the_same_fallback() -> None:
    ran = walk(PLAN, "infolinia-lines", "i", {})
    assert ran[:3] == [
        "infolinia-lines: Answer()",
        PLAYBACK,
        "infolinia-lines: Goto(infolinia-consultants,unknown,1)",
    ]
    assert "infolinia-consultants: Dial(PJSIP/softphone,30)" in ran


def test_the_dialplan_plays_only_the_project_s_own_sounds() -> None:
    """No English Asterisk prompt (ss-noservice) is left; each sound the
    dialplan names is shipped in both formats. (The load benchmark's
    baseline context plays the app's own rendered prompts, named by channel
    variables the benchmark sets: not sounds of the dialplan's own.)"""
    assert "ss-noservice" not in EXTENSIONS_CONF.read_text()
    played = {
        step.data.split(",")[0]
        for context, extensions in PLAN.items()
        if context != "infolinia-bench-baseline"
        for steps in extensions.values()
        for step in steps
        if step.app in ("Playback", "Background")
    }
    assert played == {fallback.SOUND_NAME}
    for name in played:
        for ext in EXTENSIONS:
            assert (sandbox.ASTERISK_SOUNDS / name).with_suffix(ext).is_file(), (name, ext)


def test_the_fallback_is_in_the_format_asterisk_plays() -> None:
    with wave.open(str(fallback.SHIPPED.with_suffix(".wav")), "rb") as audio:
        assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (8000, 1, 2)
        seconds = audio.getnframes() / 8000
        samples = struct.unpack(f"<{audio.getnframes()}h", audio.readframes(audio.getnframes()))
    assert 3 < seconds < 12
    assert math.sqrt(sum(v * v for v in samples) / len(samples)) > 300  # speech, not silence
    sln16 = fallback.SHIPPED.with_suffix(".sln16").stat().st_size
    assert sln16 / (2 * 16000) == pytest.approx(seconds, abs=0.05)


async def test_the_shipped_fallback_speaks_the_current_text(tmp_path: Path) -> None:
    """Rendering FALLBACK_TEXT again gives a file as long as the shipped one,
    so the text was not changed without running ``python -m voice.fallback``."""
    await fallback.regenerate(tmp_path / "fallback")
    for ext in EXTENSIONS:
        fresh = (tmp_path / "fallback").with_suffix(ext).stat().st_size
        shipped = fallback.SHIPPED.with_suffix(ext).stat().st_size
        assert fresh == pytest.approx(shipped, rel=0.03), ext


def test_voice_and_sandbox_agree_where_asterisk_s_sounds_are() -> None:
    assert fallback.ASTERISK_SOUNDS == sandbox.ASTERISK_SOUNDS
    assert sandbox.ASTERISK_CONFIG.parent / "sounds" == sandbox.ASTERISK_SOUNDS
    conf = (sandbox.ASTERISK_CONFIG / "asterisk.conf").read_text()
    datadir = re.search(r"^astdatadir\s*=>\s*(\S+)", conf, re.M)
    assert datadir is not None
    assert datadir.group(1) + "/sounds" == "/" + sandbox.SOUNDS_DIR


def fake_root(tmp_path: Path) -> Sandbox:
    box = Sandbox(home=tmp_path / "sandbox", prompt_dir=tmp_path / "prompts")
    (box.root / sandbox.SOUNDS_DIR / "en_US_f_Allison").mkdir(parents=True)
    return box


def test_sandbox_installs_the_sounds_into_asterisk_s_sounds_folder(tmp_path: Path) -> None:
    box = fake_root(tmp_path)
    installed = box.root / sandbox.SOUNDS_DIR / fallback.SOUND_NAME
    stale = installed.parent / "old-prompt.wav"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left from an earlier version")
    box.install_sounds()
    box.install_sounds()  # again: the same result
    assert sorted(p.name for p in installed.parent.iterdir()) == [
        "fallback.sln16",
        "fallback.wav",
    ]
    for ext in EXTENSIONS:
        copy = installed.with_suffix(ext)
        assert copy.read_bytes() == fallback.SHIPPED.with_suffix(ext).read_bytes()
        assert copy.stat().st_mode & 0o777 == 0o644  # Asterisk's own user reads it
    assert installed.parent.stat().st_mode & 0o777 == 0o755
    assert (box.root / sandbox.SOUNDS_DIR / "en_US_f_Allison").is_dir()  # others untouched


def test_sandbox_never_writes_through_a_link_out_of_its_root(tmp_path: Path) -> None:
    box = fake_root(tmp_path)
    outside = tmp_path / "host-files"
    outside.mkdir()
    (outside / "keep").write_text("the host's")
    (box.root / sandbox.SOUNDS_DIR / "infolinia").symlink_to(outside)
    with pytest.raises(SandboxError, match="leads out of the root"):
        box.install_sounds()
    assert (outside / "keep").read_text() == "the host's"


def test_a_changed_sound_restarts_the_sandbox_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sounds = tmp_path / "sounds"
    (sounds / "infolinia").mkdir(parents=True)
    (sounds / "infolinia" / "fallback.wav").write_bytes(b"one")
    monkeypatch.setattr(sandbox, "ASTERISK_SOUNDS", sounds)
    box = Sandbox(home=tmp_path / "sandbox", prompt_dir=tmp_path / "prompts")
    before = box.config_digest()
    (sounds / "infolinia" / "fallback.wav").write_bytes(b"two")
    assert box.config_digest() != before
