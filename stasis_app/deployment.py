"""Everything one deployment serves, built and checked before a call is
taken: per tenant its validated flow, its prompt book (defaults, its
overrides, and the word fragments for customer data) and its adapter."""

import logging
from dataclasses import dataclass
from pathlib import Path

from adapters.guard import GuardedAdapter
from adapters.registry import AdapterRegistry, AdapterSetupError, plugin_manager
from stasis_app.config import Settings, load_prompt_texts
from stasis_app.errors import ConfigError
from stasis_app.flow.model import Flow, load_flow
from stasis_app.tenants import Tenant
from stasis_app.verbs.registry import VerbHooks, VerbRegistry
from voice.cache import PromptCache
from voice.espeak import EspeakEngine
from voice.live import LiveSpeech
from voice.polish import FRAGMENT_WORDS, fragment_key
from voice.prompts import PromptBook

log = logging.getLogger(__name__)

# Prompts the app itself plays outside any flow.
APP_PROMPTS = ("apology", "resumed", "goodbye", "no_input", "invalid_choice", "unknown_line")


@dataclass
class Line:
    """One tenant, ready to serve calls."""

    tenant: Tenant
    flow: Flow
    prompts: PromptBook
    bank: GuardedAdapter


@dataclass
class Deployment:
    lines: dict[str, Line]  # dialled number -> its tenant's Line
    tenants: dict[str, Line]
    default_prompts: PromptBook  # for calls to a number no tenant has
    live: LiveSpeech  # customer text spoken during a call (counterparties)

    def all_books(self) -> list[PromptBook]:
        return [self.default_prompts, *(line.prompts for line in self.tenants.values())]

    def heard_texts(self) -> dict[str, str]:
        """Media URI -> the text it speaks, for every prompt of every tenant
        (what a listener such as the call simulator needs)."""
        return {
            uri: book.texts[key]
            for book in self.all_books()
            for key, uri in book.media_uris().items()
        }


def tenant_texts(
    settings: Settings, tenant: Tenant | None, defaults: dict[str, str] | None = None
) -> dict[str, str]:
    """A tenant's prompt texts: defaults (read from ``settings.prompts`` unless
    given), its overrides, then word fragments."""
    texts = dict(defaults) if defaults is not None else load_prompt_texts(settings.prompts)
    if tenant is not None:
        for key in tenant.prompts:
            if key not in texts:
                raise ConfigError(
                    str(settings.source),
                    f"tenants.{tenant.id}.prompts.{key}",
                    f"no such prompt in {settings.prompts.name}",
                )
        texts.update({key: " ".join(text.split()) for key, text in tenant.prompts.items()})
    missing = [key for key in APP_PROMPTS if key not in texts]
    if missing:
        raise ConfigError(str(settings.prompts), missing[0], "prompt is missing")
    texts.update({fragment_key(word): word for word in FRAGMENT_WORDS})
    return texts


def build_deployment(settings: Settings, *, with_adapters: bool = True) -> Deployment:
    """Load and check every tenant; ``with_adapters=False`` skips creating adapters."""
    manager = plugin_manager(extra_specs=(VerbHooks,))
    verbs = VerbRegistry(manager)
    registry = AdapterRegistry(manager)
    engine = EspeakEngine(voice=settings.voice.voice, speed=settings.voice.speed)
    cache = PromptCache(settings.voice.cache_dir, engine)
    source = str(settings.source)
    tenants: dict[str, Line] = {}
    lines: dict[str, Line] = {}
    flows: dict[Path, Flow] = {}
    defaults = load_prompt_texts(settings.prompts)  # read once for every tenant
    for tenant in settings.tenants.values():
        texts = tenant_texts(settings, tenant, defaults)
        flow = load_flow(tenant.flow, verbs, texts)
        flows[tenant.flow] = flow
        bank: GuardedAdapter | None = None
        if with_adapters:
            try:
                adapter = registry.create(tenant.adapter.name, tenant.adapter.settings)
            except AdapterSetupError as exc:
                field = exc.field.replace("adapter_settings", "adapter.settings")
                raise ConfigError(source, f"tenants.{tenant.id}.{field}", exc.problem) from None
            bank = GuardedAdapter(adapter, tenant.adapter.name, tenant.adapter.timeout)
        line = Line(tenant, flow, PromptBook(texts, cache), bank)  # type: ignore[arg-type]
        tenants[tenant.id] = line
        for number in tenant.lines:
            if number in lines:
                raise ConfigError(
                    source,
                    f"tenants.{tenant.id}.lines",
                    f"{number} is already a line of {lines[number].tenant.id}",
                )
            lines[number] = line
    live = LiveSpeech(settings.voice.cache_dir / "live", engine)
    default_book = PromptBook(tenant_texts(settings, None, defaults), cache)
    return Deployment(lines, tenants, default_book, live)
