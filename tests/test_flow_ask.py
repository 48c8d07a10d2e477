"""One ask-and-retry for every verb that reads an answer, and verbs typed
by their own params (``Verb[SayParams]``), never ``params: Any``."""

import ast
import asyncio
import typing
from collections.abc import Sequence
from pathlib import Path

import pytest

from stasis_app.flow.context import CallContext
from stasis_app.verbs.base import Answer, AskParams, ask
from tests.support.fake_call import FakeCall

pytestmark = pytest.mark.unit

VERBS = Path(__file__).resolve().parent.parent / "stasis_app" / "verbs"


class SaidCall(FakeCall):
    """What the caller heard, prompt by prompt (``*`` marks one a key may stop)."""

    def __init__(self) -> None:
        super().__init__()
        self.said: list[str] = []

    async def say(
        self, keys: Sequence[str], *, barge_in: bool = False, language: str | None = None
    ) -> bool:
        self.said += [f"{key}*" if barge_in else key for key in keys]
        return await super().say(keys, barge_in=barge_in, language=language)


def asked(answers: list[Answer], retries: int = 2) -> tuple[str, list[str]]:
    call = SaidCall()
    ctx = CallContext(call=call, tenant=None, bank=None)  # type: ignore[arg-type]
    params = AskParams(prompt=["main_menu"], retries=retries)
    script = iter(answers)

    async def listen() -> Answer:
        return next(script)

    return asyncio.run(ask(ctx, params, listen)), call.said


def test_a_good_answer_is_the_event() -> None:
    assert asked([Answer("yes")]) == ("yes", ["main_menu*"])


def test_a_wrong_key_and_silence_are_told_apart_and_re_asked() -> None:
    event, heard = asked([Answer(typed="7"), Answer(typed=""), Answer("no")])
    assert event == "no"
    assert heard == ["main_menu*", "invalid_choice", "main_menu*", "no_input", "main_menu*"]


def test_after_the_retries_the_event_is_failed() -> None:
    event, heard = asked([Answer(typed="7")] * 3, retries=1)
    assert event == "failed"
    assert heard == ["main_menu*", "invalid_choice", "main_menu*"]


def test_asking_again_does_not_count_as_a_miss() -> None:
    event, heard = asked([Answer(typed="9", again=True)] * 4 + [Answer("1")], retries=0)
    assert event == "1"
    assert heard == ["main_menu*"] * 5


def test_verbs_take_their_own_params_and_ask_through_one_helper() -> None:
    untyped: list[str] = []
    for path in sorted(VERBS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.arg) and node.arg == "params"):
                continue
            if node.annotation is None or ast.unparse(node.annotation) == "Any":
                untyped.append(f"{path.name}:{node.lineno}")
    assert untyped == []
    for name in ("menu", "choose", "confirm", "gather"):
        source = (VERBS / f"{name}.py").read_text(encoding="utf-8")
        assert "await ask(ctx, params, listen)" in source and "misses" not in source, name


def test_each_verb_validates_its_yaml_with_the_params_its_run_is_typed_by() -> None:
    from stasis_app.verbs.base import Verb
    from stasis_app.verbs.builtin import BUILTIN_VERBS

    for verb in BUILTIN_VERBS:
        generic = next(
            base
            for cls in verb.__mro__
            for base in getattr(cls, "__orig_bases__", ())
            if typing.get_origin(base) is Verb
        )
        assert typing.get_args(generic) == (verb.Params,), verb.name
