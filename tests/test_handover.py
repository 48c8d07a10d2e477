"""Issue 21's hand-over, recording notice, consultant recordings and survey,
without Asterisk: which calls count as handed over (line, calling number,
SIP header), the bank flow's hand-over path, the notice and its key, the
survey's answers, the recordings' book and retention, the purge command,
and a bank's config refused naming file and field. The real calls are in
tests/test_real_handover.py."""

import time
from pathlib import Path
from typing import Any, cast

import pytest

from adapters.demo import DemoBank, DemoSettings
from stasis_app.cli import main as cli_main
from stasis_app.config import load_settings
from stasis_app.errors import AriError, ConfigError
from stasis_app.flow.context import CallContext
from stasis_app.flow.engine import run_flow
from stasis_app.flow.handover import handed_over
from stasis_app.flow.model import load_flow
from stasis_app.flow.notice import recording_notice
from stasis_app.queue.queue import AGENT_LEFT
from stasis_app.queue.recordings import (
    DAY,
    LiveRecording,
    Recording,
    RecordingBook,
    drain,
    file_name,
    finish_recording,
)
from stasis_app.queue.survey import ask_survey
from stasis_app.store import Store
from stasis_app.telephony.ports import QueueGateway
from stasis_app.tenants import Tenant
from stasis_app.verbs.registry import VerbRegistry
from stasis_app.verbs.route import Branch
from tests.support.fake_call import FakeCall
from voice.fragments import fragment_keys
from voice.languages import numbers

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parent.parent
BANK_FLOW = REPO / "config" / "flows" / "bank.yaml"
HEADER = {"name": "X-Transfer-Source", "value": "828828828"}


def bank(**settings: Any) -> Tenant:
    return Tenant.model_validate(
        {
            "id": "izbica",
            "name": "Izbica",
            "lines": ["100", "104"],
            "flow": "bank.yaml",
            "adapter": {"name": "demo"},
            **settings,
        }
    )


def context(call: FakeCall, tenant: Tenant, bank_: Any = None) -> CallContext:
    return CallContext(call=call, tenant=tenant, bank=bank_)


class Answering(FakeCall):
    """A caller who types an answer when a prompt asks for it: ``answers``
    maps a prompt to the keys typed after it, in turn (keys typed ahead
    would stop a prompt before it is heard)."""

    def __init__(self, answers: dict[str, list[str]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.answers = answers

    async def say(self, keys: Any, *, barge_in: bool = False, language: str | None = None) -> bool:
        interrupted = await super().say(keys, barge_in=barge_in, language=language)
        waiting = self.answers.get(keys[0]) if keys else None
        if waiting:
            self.press(waiting.pop(0))
        return interrupted


# --- which calls are handed over ---------------------------------------------


async def test_a_call_is_handed_over_by_line_calling_number_or_header() -> None:
    rules = bank(handover={"lines": ["104"], "callers": ["+48828"], "header": HEADER})
    assert await handed_over(context(FakeCall(line="104"), rules))
    assert await handed_over(context(FakeCall(line="100", caller="48828828828"), rules))
    assert await handed_over(context(FakeCall(headers={"X-Transfer-Source": "828828828"}), rules))
    # None of them: the bank's ordinary caller.
    assert not await handed_over(context(FakeCall(caller="48600100200"), rules))
    assert not await handed_over(context(FakeCall(headers={"X-Transfer-Source": "1"}), rules))
    assert not await handed_over(context(FakeCall(caller="anonymous"), rules))


async def test_a_bank_without_a_handover_hands_over_nobody() -> None:
    call = FakeCall(line="104", caller="48828828828", headers={"X-Transfer-Source": "828828828"})
    assert not await handed_over(context(call, bank()))


def test_a_route_branch_tests_handed_over_true_only() -> None:
    assert Branch.model_validate({"handed_over": True, "to": "x"}).event == "handed over"
    with pytest.raises(ValueError, match="handed_over: true is the only test"):
        Branch.model_validate({"handed_over": False, "to": "x"})


async def test_the_bank_flow_takes_a_handed_over_caller_to_the_card_list_birth_date_first(
    tmp_path: Path,
) -> None:
    flow = load_flow(BANK_FLOW, VerbRegistry())
    demo = DemoBank(DemoSettings(database=tmp_path / "demo.sqlite", tenant="izbica"))
    answers = {"ask_customer_number": ["31415926"], "ask_birth_date_or_star": ["19081947"]}
    call = Answering(answers, line="104", keys="")
    ctx = context(call, bank(handover={"lines": ["104"]}), demo)
    await run_flow(flow, ctx)
    heard = [keys[0] for keys in call.heard]
    assert heard[:3] == ["handover_greeting", "ask_customer_number", "ask_birth_date_or_star"]
    assert "main_menu" not in heard and "greeting" not in heard
    assert "choose_card" in heard and ctx.level == "identified"


async def test_a_handed_over_caller_may_press_star_for_the_telekod(tmp_path: Path) -> None:
    flow = load_flow(BANK_FLOW, VerbRegistry())
    demo = DemoBank(DemoSettings(database=tmp_path / "demo.sqlite", tenant="izbica"))
    answers = {
        "ask_customer_number": ["31415926"],
        "ask_birth_date_or_star": ["*"],
        "ask_telekod": ["271828#"],
    }
    call = Answering(answers, line="104")
    ctx = context(call, bank(handover={"lines": ["104"]}), demo)
    await run_flow(flow, ctx)
    heard = [keys[0] for keys in call.heard]
    assert "ask_telekod" in heard and "choose_card" in heard and ctx.level == "authenticated"


# --- the notice -------------------------------------------------------------


async def test_the_notice_offers_its_key_and_the_key_plays_the_full_information() -> None:
    call = FakeCall(keys="8")
    await recording_notice(context(call, bank(recording_notice={"enabled": True})))
    assert call.heard[-1] == ["recording_notice_full"]
    assert not call.has_keys()


async def test_another_key_during_the_notice_stays_for_the_menu() -> None:
    call = FakeCall()
    await recording_notice(context(call, bank(recording_notice={"enabled": True, "key": "5"})))
    assert call.heard[0][:3] == ["recording_notice", "recording_notice_more", "press"]
    assert call.heard[0][3:] == fragment_keys(numbers("pl").digit_words("5"))  # its key
    assert "recording_notice_full" not in [k for keys in call.heard for k in keys]
    call = FakeCall(keys="1")
    await recording_notice(context(call, bank(recording_notice={"enabled": True})))
    assert call.take_key() == "1"


async def test_a_bank_without_the_notice_plays_none() -> None:
    call = FakeCall(keys="8")
    await recording_notice(context(call, bank()))
    assert call.heard == [] and call.take_key() == "8"


# --- the survey -------------------------------------------------------------


async def test_the_survey_keeps_the_score_with_the_call() -> None:
    call = Answering({"survey_question": ["4"]}, keys="9")  # 9: typed while talking
    ctx = context(call, bank(survey={"enabled": True}))
    assert await ask_survey(ctx) == 4
    assert ctx.trail.survey_score == 4 and call.heard[-1] == ["survey_thanks"]


async def test_the_question_is_heard_though_the_consultants_leaving_woke_the_call() -> None:
    call = Answering({"survey_question": ["5"]})
    call.interrupts.append(AGENT_LEFT)  # what ended the conversation
    ctx = context(call, bank(survey={"enabled": True}))
    assert await ask_survey(ctx) == 5
    assert call.heard[0] == ["survey_question"]


async def test_a_wrong_key_asks_again_then_silence_leaves_no_score() -> None:
    call = Answering({"survey_question": ["7", "3"]})
    ctx = context(call, bank(survey={"enabled": True}))
    assert await ask_survey(ctx) == 3
    asked = [keys[0] for keys in call.heard]
    assert asked == ["survey_question", "survey_question", "survey_thanks"]
    call = Answering({})
    ctx = context(call, bank(survey={"enabled": True}))
    assert await ask_survey(ctx) is None
    assert ctx.trail.survey_score is None and call.heard[-1] == ["goodbye"]


async def test_a_bank_without_the_survey_asks_nothing() -> None:
    call = FakeCall(keys="5")
    ctx = context(call, bank())
    assert await ask_survey(ctx) is None and call.heard == [] and ctx.trail.survey_score is None


# --- recordings -------------------------------------------------------------


def recording(folder: Path, name: str, started: float) -> Recording:
    path = folder / f"{name}.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF....WAVE")
    return Recording("izbica", name, "1.2", "main", "PJSIP/anna", started, 3.0, 12, str(path))


def test_recordings_are_listed_newest_first_and_deleted_once_after_retention(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "state.sqlite")
    book, other_node = RecordingBook(store), RecordingBook(Store(tmp_path / "state.sqlite"))
    now = time.time()
    old, new = recording(tmp_path, "old", now - 3 * DAY), recording(tmp_path, "new", now - 60)
    book.add(old)
    book.add(new)
    assert [r.name for r in book.listed("izbica")] == ["new", "old"]
    assert book.find("izbica", "old") == old and book.find("cieszyn", "old") is None
    assert book.delete_expired("izbica", 2, now=now) == 1
    assert other_node.delete_expired("izbica", 2, now=now) == 0  # already gone: deleted once
    assert not Path(old.path).exists() and Path(new.path).exists()
    assert [r.name for r in book.listed("izbica")] == ["new"]


def test_a_recordings_name_is_safe_as_a_file_name() -> None:
    name = file_name("izbica", "1765000000.42", 1765000001.7)
    assert name == "izbica-1765000000.42-1765000001"
    assert "/" not in file_name("a", "../../etc/passwd", 1.0)


def test_the_purge_command_deletes_each_banks_expired_recordings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "infolinia.yaml"
    config.write_text(
        f"state: {tmp_path / 'state.sqlite'}\nprompts: {REPO / 'config/prompts/pl.yaml'}\n"
        "tenants:\n"
        "  izbica: {name: I, lines: ['100'], flow: "
        f"{BANK_FLOW}, adapter: {{name: demo}},\n"
        f"           recordings: {{enabled: true, keep_days: 1, folder: {tmp_path}}}}}\n"
    )
    book = RecordingBook(Store(tmp_path / "state.sqlite"))
    book.add(recording(tmp_path, "old", time.time() - 2 * DAY))
    book.add(recording(tmp_path, "new", time.time()))
    assert cli_main(["--config", str(config), "recordings", "purge"]) == 0
    assert "izbica: 1 deleted" in capsys.readouterr().out
    assert [r.name for r in book.listed("izbica")] == ["new"]
    assert sorted(tmp_path.glob("*.wav")) == [tmp_path / "new.wav"]


# --- config -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "field", "words"),
    [
        (
            "languages: {uk: {key: '8', offer: 'Для української мови натисніть 8.'}},"
            " recording_notice: {enabled: true}",
            "tenants.a.recording_notice",
            "key '8' also picks uk at the greeting",
        ),
        ("recording_notice: {enabled: true, key: '#'}", "tenants.a.recording_notice.key", ""),
        ("handover: {lines: ['105']}", "tenants.a.handover", "'105' is not one of the bank's"),
        ("handover: {}", "tenants.a.handover", "give lines, callers or header"),
        (
            "handover: {header: {name: Transfer, value: x}}",
            "tenants.a.handover.header.name",
            "not a header name",
        ),
        ("recordings: {folder: nagrania}", "tenants.a.recordings.folder", "absolute"),
        ("recordings: {keep_days: 0}", "tenants.a.recordings.keep_days", ""),
    ],
)
def test_a_banks_bad_settings_are_refused_naming_file_and_field(
    tmp_path: Path, settings: str, field: str, words: str
) -> None:
    config = tmp_path / "infolinia.yaml"
    config.write_text(
        "tenants:\n  a: {name: A, lines: ['100'], flow: bank.yaml, adapter: {name: demo}, "
        f"{settings}}}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(config, env={})
    assert caught.value.file == str(config)
    assert caught.value.field == field
    assert words in caught.value.problem


def test_the_demo_banks_turn_them_on() -> None:
    settings = load_settings(REPO / "config" / "infolinia.yaml", resolve_secrets=False, env={})
    izbica, cieszyn = settings.tenants["izbica"], settings.tenants["cieszyn"]
    assert izbica.handover is not None and izbica.handover.lines
    assert izbica.recording_notice.enabled and izbica.recordings.enabled and izbica.survey.enabled
    assert cieszyn.recording_notice.enabled
    assert cieszyn.recording_notice.key not in {o.key for o in cieszyn.languages.values()}


class Spool:
    """Asterisk's recording spool as the keeping of a recording sees it."""

    def __init__(self, data: bytes = b"RIFF....WAVE", fails: int = 0) -> None:
        self.data, self.fails, self.deleted = data, fails, list[str]()

    async def stop_recording(self, name: str) -> None:
        pass

    async def stored_recording(self, name: str) -> bytes:
        if self.fails:
            self.fails -= 1
            raise AriError("GET recordings/stored: 500")
        return self.data

    async def delete_stored_recording(self, name: str) -> None:
        self.deleted.append(name)


class StoreDown(RecordingBook):
    def add(self, recording: Recording) -> None:
        raise RuntimeError("the store is down")


def live(folder: Path) -> LiveRecording:
    tenant = bank(recordings={"enabled": True, "folder": str(folder)})
    return LiveRecording(tenant, "izbica-1", "1.2", "main", "PJSIP/anna", time.time(), 0.0)


async def keep(spool: Spool, book: RecordingBook, folder: Path) -> None:
    await finish_recording(cast(QueueGateway, spool), book, live(folder))
    await drain()


async def test_a_recording_is_kept_listed_and_gone_from_asterisks_spool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("stasis_app.queue.recordings.FETCH_PAUSE", 0)
    spool, book = Spool(fails=2), RecordingBook(Store(tmp_path / "state.sqlite"))
    await keep(spool, book, tmp_path / "rec")
    [kept] = book.listed("izbica")
    assert Path(kept.path).read_bytes() == b"RIFF....WAVE"
    assert spool.deleted == ["izbica-1"]


async def test_a_recording_never_fetched_is_still_deleted_from_asterisks_spool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("stasis_app.queue.recordings.FETCH_PAUSE", 0)
    spool, book = Spool(fails=100), RecordingBook(Store(tmp_path / "state.sqlite"))
    await keep(spool, book, tmp_path / "rec")
    assert spool.deleted == ["izbica-1"]
    assert book.listed("izbica") == [] and not (tmp_path / "rec").exists()
    assert "consultant recording not found in Asterisk" in caplog.messages


async def test_a_recording_whose_row_failed_leaves_no_file_behind(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool()
    await keep(spool, StoreDown(Store(tmp_path / "state.sqlite")), tmp_path / "rec")
    assert list((tmp_path / "rec").rglob("*")) == [tmp_path / "rec" / "izbica"]  # no file
    assert spool.deleted == ["izbica-1"]
    assert "consultant recording not kept" in caplog.messages
