"""What infolinia loads from the ``infolinia.adapters`` entry point (the group
of every infolinia plugin): one module whose hooks say what this package
provides: an adapter, a TTS engine and a verb."""

from typing import Any

from adapters.hookspecs import AdapterFactory, hookimpl
from infolinia_adapter_example.bank import ExampleBank, ExampleSettings
from infolinia_adapter_example.verbs import Announce
from infolinia_adapter_example.voice import ExampleVoice, ExampleVoiceSettings
from stasis_app.verbs.base import Verb
from voice.hookspecs import EngineFactory


@hookimpl
def infolinia_register_adapters() -> list[AdapterFactory]:
    return [
        AdapterFactory(
            name="example",
            settings=ExampleSettings,
            create=ExampleBank,
            description="example vendor core kept in memory",
            # The optional operations it implements (adapters.spec.OptionalOperation).
            offers={"exchange_rates"},
        )
    ]


@hookimpl
def infolinia_register_engines() -> list[EngineFactory]:
    return [
        EngineFactory(
            name="example-voice",
            settings=ExampleVoiceSettings,
            create=ExampleVoice,
            description="the example bank's voice (espeak-ng, slower)",
        )
    ]


@hookimpl
def infolinia_register_verbs() -> list[type[Verb[Any]]]:
    return [Announce]
