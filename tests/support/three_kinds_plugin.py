"""A vendor's plugin module that registers one of each kind: an adapter
(``vendor-demo``, the demo bank under a vendor's name), a TTS engine
(``vendor-tone``, the test tone of :mod:`tests.support.voice_plugin`) and a
verb (``vendor-greet``, which says a prompt). Load it with
``INFOLINIA_PLUGINS=tests.support.three_kinds_plugin``."""

from typing import Any

from adapters.demo import DemoBank, DemoSettings
from adapters.hookspecs import AdapterFactory, hookimpl
from stasis_app.flow.context import CallContext
from stasis_app.flow.speech import PromptItem
from stasis_app.verbs.base import Verb, VerbParams, say
from tests.support.voice_plugin import ToneEngine, ToneSettings
from voice.hookspecs import EngineFactory


class GreetParams(VerbParams):
    prompt: list[PromptItem]


class Greet(Verb[GreetParams]):
    """Say the prompt, then go on (a vendor's own verb)."""

    name = "vendor-greet"
    Params = GreetParams

    async def run(self, ctx: CallContext, params: GreetParams) -> str:
        await say(ctx, params.prompt)
        return "done"


@hookimpl
def infolinia_register_adapters() -> list[AdapterFactory]:
    return [AdapterFactory("vendor-demo", DemoSettings, DemoBank, "the demo bank, as a vendor's")]


@hookimpl
def infolinia_register_engines() -> list[EngineFactory]:
    return [EngineFactory("vendor-tone", ToneSettings, ToneEngine, "a sine tone, a vendor's")]


@hookimpl
def infolinia_register_verbs() -> list[type[Verb[Any]]]:
    return [Greet]
