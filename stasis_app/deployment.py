"""Everything one deployment serves, built and checked before a call is
taken: per tenant its validated flow, its prompt book (defaults, its
overrides, and the word fragments for customer data, rendered by its chain
of TTS engines) and its adapter; for a bank that offers Ukrainian or English
(``tenants.ID.languages``), one more prompt book per language, from that
language's catalogue next to the Polish one (``uk.yaml``) with the same keys."""

import inspect
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from adapters.guard import GuardedAdapter
from adapters.registry import AdapterRegistry, AdapterSetupError
from adapters.sms import SmsSender, SmsSenderRegistry, SmsSetupError
from adapters.spec import OptionalOperation
from plugin.manager import get_plugin_manager
from stasis_app.config import Settings, load_prompt_texts
from stasis_app.errors import ConfigError
from stasis_app.features import check_features, check_operations
from stasis_app.flow.model import Flow, State, load_flow, load_flow_text
from stasis_app.queue.speech import QUEUE_PROMPTS
from stasis_app.tenants import EngineChoice, LanguageOffer, Tenant
from stasis_app.verbs.registry import VerbRegistry
from stasis_app.verbs.webhook import WebhookParams
from voice.apology import APOLOGY_TEXT, installed_base
from voice.cache import PromptCache
from voice.chain import EngineChain, EngineHealth
from voice.engine import SynthesisError, TtsEngine
from voice.fragments import FragmentShape, fragment_texts, heard_word
from voice.languages import DEFAULT, OFFER_PROMPT, engine_settings, numbers
from voice.live import LiveSpeech
from voice.prompts import PromptBook, is_fragment
from voice.recording import transcript
from voice.registry import EngineRegistry, EngineSetupError

log = logging.getLogger(__name__)
# Offline engines too slow to speak during a call (neural voices: voice/neural.py).
SLOW_FOR_LIVE = frozenset({"piper"})

# Prompts the app itself plays outside any flow.
APP_PROMPTS = (
    "apology",
    "resumed",
    "goodbye",
    "no_input",
    "invalid_choice",
    "unknown_line",
    "please_wait",
    "test_call_no_write",  # a test call's write, not carried out (flow/engine.py)
)
# The prompt of a language's book that offers it at the greeting
# (tenants.ID.languages.LANG.offer; the ``language`` verb plays it).
OFFER = OFFER_PROMPT


def catalogue_path(settings: Settings, language: str) -> Path:
    """A language's prompt catalogue: ``uk.yaml`` next to the Polish one."""
    if language == DEFAULT:
        return settings.prompts
    return settings.prompts.with_name(f"{language}.yaml")


def catalogue_problems(settings: Settings) -> list[ConfigError]:
    """Every key of the Polish catalogue that a language's catalogue lacks,
    and every key it has that Polish does not (a typo), each naming the file
    and the key. Catalogues that do not exist are skipped (a bank offering
    the language fails to load without it)."""
    polish = load_prompt_texts(settings.prompts)
    problems = []
    for language in ("uk", "en"):
        path = catalogue_path(settings, language)
        if not path.exists():
            continue
        texts = load_prompt_texts(path)
        problems += [
            ConfigError(str(path), key, f"missing (it is in {settings.prompts.name})")
            for key in polish
            if key not in texts
        ]
        problems += [
            ConfigError(str(path), key, f"not a prompt of {settings.prompts.name}")
            for key in texts
            if key not in polish
        ]
    return problems


@dataclass
class ServedTenant:
    """One tenant, ready to serve calls: its config, flow, prompts and bank.

    (A *line* is a number callers dial: :attr:`Deployment.lines` maps each
    line to the tenant that serves it.)"""

    tenant: Tenant
    flow: Flow
    prompts: PromptBook
    bank: GuardedAdapter
    # The other languages it offers (code -> their prompt book; Polish is ``prompts``).
    books: dict[str, PromptBook] = field(default_factory=dict)
    # The optional operations its adapter offers (stasis_app/features.py).
    offers: frozenset[str] = frozenset()
    sms: SmsSender | None = None  # sends one-time codes (tenants.ID.sms)

    def book(self, language: str) -> PromptBook:
        """The prompt book of ``language`` (KeyError: the bank does not offer it)."""
        return self.prompts if language == DEFAULT else self.books[language]


@dataclass
class Deployment:
    lines: dict[str, ServedTenant]  # a line (dialled number) -> the tenant serving it
    tenants: dict[str, ServedTenant]
    default_prompts: PromptBook  # for calls to a number no tenant has
    live: LiveSpeech  # customer text spoken during a call (counterparties)
    verbs: VerbRegistry | None = None  # what flows may use (check_flow)
    # Which TTS engines are down: kept by the next deployment of the same app
    # (a reload, a bank added on the admin page), so an outage is said once.
    health: EngineHealth | None = None

    def check_flow(self, tenant: str, text: str, where: str) -> Flow:
        """``tenant``'s flow given as YAML ``text`` (a version in the store:
        stasis_app/flow/versions.py), checked as its file is at start: the same
        checker (verbs, params, prompts, transitions, dead ends, reachability,
        queues, languages); a ConfigError naming ``where``, the state and the field."""
        served = self.tenants[tenant]
        verbs = self.verbs or VerbRegistry(get_plugin_manager())
        flow = load_flow_text(text, served.tenant.flow, verbs, served.prompts.texts, where)
        _check_queues(where, served.tenant, flow)
        _check_languages(where, served.tenant, flow)
        check_operations(
            where, flow, served.tenant.features, served.tenant.adapter.name, served.offers
        )
        seed = load_flow(served.tenant.flow, verbs, served.prompts.texts)
        _check_webservices(where, served.tenant.flow, seed, flow)
        return flow

    def queue_tenants(self) -> list[tuple[Tenant, PromptBook]]:
        """Tenants with consultant queues, and the prompts their queues speak."""
        return [
            (served.tenant, served.prompts)
            for served in self.tenants.values()
            if served.tenant.queues
        ]

    def all_books(self) -> list[PromptBook]:
        return [
            self.default_prompts,
            *(served.prompts for served in self.tenants.values()),
            *(book for served in self.tenants.values() for book in served.books.values()),
        ]

    def heard_texts(self) -> dict[str, str]:
        """Media URI -> the text it speaks, for every prompt of every tenant
        (what a listener such as the call simulator needs)."""
        heard = {
            # A word of a number is heard as the word, whichever its rendering.
            uri: heard_word(transcript(book.texts[key]))
            if is_fragment(key)
            else transcript(book.texts[key])
            for book in self.all_books()
            for key, uri in book.media_uris().items()
        }
        # What a prompt no engine could render plays instead (see PromptBook).
        for book in self.all_books():
            heard[f"sound:{installed_base(book.cache.root)}"] = APOLOGY_TEXT
        return heard


class Voices:
    """The prompt caches of one deployment: one per distinct chain of engines
    (tenants whose chains speak alike share it, and so its single-flight),
    over engines built once each and one :class:`EngineHealth`, so that an
    engine's outage is noticed and logged once for every tenant."""

    def __init__(
        self, settings: Settings, registry: EngineRegistry, health: EngineHealth | None = None
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.health = health or EngineHealth(cooloff=settings.voice.engine_cooloff)
        self._engines: dict[str, TtsEngine] = {}  # by name and settings
        self._caches: dict[tuple[str, ...], PromptCache] = {}  # by engine identities

    def language_cache(
        self, choices: Sequence[EngineChoice], where: str, language: str, offer_at: str
    ) -> PromptCache:
        """The cache speaking ``language`` with the engines of ``choices``
        that can be told it (espeak-ng's voice, gTTS's lang); ``offer_at``
        names the language's config in the error when none can."""
        spoken = []
        for choice in choices:
            settings = engine_settings(choice.name, choice.settings, language)
            if settings is not None:
                spoken.append(EngineChoice(name=choice.name, settings=settings))
        if not spoken:
            raise ConfigError(
                str(self.settings.source),
                f"{offer_at}.voice",
                f"no engine of {where} speaks {language!r} (espeak-ng and gtts can): "
                "give this language its own engines",
            )
        return self.cache(spoken, where)

    def cache(self, choices: Sequence[EngineChoice], where: str) -> PromptCache:
        """The cache rendering with ``choices``; ``where`` names them in errors
        (``voice.engines`` or ``tenants.ID.voice.engines``)."""
        engines = [self._engine(choice, f"{where}.{n}") for n, choice in enumerate(choices)]
        identities = tuple(engine.identity for engine in engines)
        cache = self._caches.get(identities)
        if cache is None:
            chain = EngineChain(engines, self.health)
            fragments = FragmentShape(pause_ms=self.settings.voice.fragment_pause_ms)
            cache = self._caches[identities] = PromptCache(
                self.settings.voice.cache_dir, chain, fragments
            )
        return cache

    def _engine(self, choice: EngineChoice, where: str) -> TtsEngine:
        spec = json.dumps([choice.name, choice.settings], sort_keys=True, default=str)
        engine = self._engines.get(spec)
        if engine is None:
            try:
                engine = self.registry.create(choice.name, choice.settings)
            except EngineSetupError as exc:
                raise ConfigError(
                    str(self.settings.source), f"{where}.{exc.field}", exc.problem
                ) from None
            self._engines[spec] = engine
        return engine


def tenant_texts(
    settings: Settings, tenant: Tenant | None, defaults: dict[str, str] | None = None
) -> dict[str, str]:
    """A tenant's prompt texts: defaults (read from ``settings.prompts`` unless
    given), its overrides, then word fragments."""
    texts = dict(defaults) if defaults is not None else load_prompt_texts(settings.prompts)
    if tenant is not None and tenant.queues:
        # What the queue whispers to an agent first: which bank (may be reworded).
        texts["tenant_name"] = tenant.name
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
    if tenant is not None and tenant.queues:
        missing += [key for key in QUEUE_PROMPTS if key not in texts]
    if missing:
        raise ConfigError(str(settings.prompts), missing[0], "prompt is missing")
    texts.update(fragment_texts(numbers(DEFAULT).FRAGMENT_WORDS))
    return texts


def language_texts(
    settings: Settings,
    tenant: Tenant,
    language: str,
    offer: LanguageOffer,
    catalogue: dict[str, str],
    polish: dict[str, str],
) -> dict[str, str]:
    """A tenant's prompt texts in ``language``: its catalogue (every key of
    the Polish one ``polish``, or the error names the file and the key), the
    bank's overrides for the language, the words offering it, its fragments."""
    path = catalogue_path(settings, language)
    missing = [key for key in polish if key not in catalogue]
    if missing:
        raise ConfigError(str(path), missing[0], f"missing (it is in {settings.prompts.name})")
    texts = dict(catalogue)
    if tenant.queues:
        texts["tenant_name"] = tenant.name
    for key, text in offer.prompts.items():
        if key not in texts:
            raise ConfigError(
                str(settings.source),
                f"tenants.{tenant.id}.languages.{language}.prompts.{key}",
                f"no such prompt in {path.name}",
            )
        texts[key] = " ".join(text.split())
    texts[OFFER] = " ".join(offer.offer.split())
    texts.update(fragment_texts(numbers(language).FRAGMENT_WORDS))
    return texts


def build_deployment(
    settings: Settings, *, with_adapters: bool = True, health: EngineHealth | None = None
) -> Deployment:
    """Load and check every tenant; ``with_adapters=False`` skips creating
    adapters; ``health``: the running deployment's, whose engines' outages
    the new one keeps."""
    manager = get_plugin_manager()
    verbs = VerbRegistry(manager)
    registry = AdapterRegistry(manager)
    senders: SmsSenderRegistry | None = None  # made when a bank names an SMS sender
    voices = Voices(settings, EngineRegistry(manager), health)
    cache = voices.cache(settings.voice.chain(), "voice.engines")
    source = str(settings.source)
    tenants: dict[str, ServedTenant] = {}
    lines: dict[str, ServedTenant] = {}
    # Banks that share a flow file and prompt keys share its one loaded, checked
    # Flow (immutable): 500 banks on the shipped flow parse it once, not 500 times.
    flows: dict[tuple[Path, frozenset[str]], Flow] = {}
    defaults = load_prompt_texts(settings.prompts)  # read once for every tenant
    catalogues: dict[str, dict[str, str]] = {}  # language -> its catalogue, read once
    for tenant in settings.tenants.values():
        texts = tenant_texts(settings, tenant, defaults)
        known = (tenant.flow, frozenset(texts))
        flow = flows.get(known) or load_flow(tenant.flow, verbs, texts)
        flows[known] = flow
        _check_queues(source, tenant, flow)
        offers = _offers(source, registry, tenant, installed_only=not with_adapters)
        check_features(source, tenant.id, tenant.features, tenant.adapter.name, offers)
        if tenant.features.predefined_transfers and tenant.sms is None:
            raise ConfigError(
                source,
                f"tenants.{tenant.id}.sms",
                "features.predefined_transfers needs an SMS sender for the one-time codes "
                "(sms: {sender: NAME, settings: ...}; docs/writing-an-adapter.md)",
            )
        check_operations(str(tenant.flow), flow, tenant.features, tenant.adapter.name, offers)
        bank: GuardedAdapter | None = None
        if with_adapters:
            try:
                adapter = registry.create(tenant.adapter.name, tenant.adapter.settings)
            except AdapterSetupError as exc:
                field = exc.field.replace("adapter_settings", "adapter.settings")
                raise ConfigError(source, f"tenants.{tenant.id}.{field}", exc.problem) from None
            bank = GuardedAdapter(
                adapter,
                tenant.adapter.name,
                tenant.adapter.timeout,
                breaker_failures=settings.security.breaker_failures,
                breaker_seconds=settings.security.breaker_seconds,
                offers=frozenset(OptionalOperation(name) for name in offers),
            )
            _check_offered_methods(source, tenant, adapter, offers)
        tenant_cache = (
            voices.cache(tenant.voice.engines, f"tenants.{tenant.id}.voice.engines")
            if tenant.voice is not None
            else cache
        )
        served = ServedTenant(tenant, flow, PromptBook(texts, tenant_cache), bank, offers=offers)  # type: ignore[arg-type]
        if with_adapters and tenant.sms is not None:
            senders = senders or SmsSenderRegistry(manager)
            served.sms = _sms_sender(source, tenant, senders)
        _check_languages(source, tenant, flow)
        for language, offer in tenant.languages.items():
            at = f"tenants.{tenant.id}.languages.{language}"
            if language not in catalogues:
                path = catalogue_path(settings, language)
                if not path.exists():
                    raise ConfigError(source, at, f"no prompt catalogue {path}")
                catalogues[language] = load_prompt_texts(path)
            spoken = language_texts(
                settings, tenant, language, offer, catalogues[language], defaults
            )
            if offer.voice is not None:
                language_cache = voices.cache(offer.voice.engines, f"{at}.voice.engines")
            elif tenant.voice is not None:
                language_cache = voices.language_cache(
                    tenant.voice.engines, f"tenants.{tenant.id}.voice.engines", language, at
                )
            else:
                language_cache = voices.language_cache(
                    settings.voice.chain(), "voice.engines", language, at
                )
            served.books[language] = PromptBook(spoken, language_cache)
        tenants[tenant.id] = served
        for number in tenant.lines:
            if number in lines:
                raise ConfigError(
                    source,
                    f"tenants.{tenant.id}.lines",
                    f"{number} is already a line of {lines[number].tenant.id}",
                )
            lines[number] = served
    try:
        # Customer data (counterparties) is spoken only by an offline engine.
        offline = cache.chain.first_offline()
    except SynthesisError:
        raise ConfigError(
            source, "voice.engines", "needs an offline engine (such as espeak-ng) for customer data"
        ) from None
    if offline.identity.split(" ", 1)[0] in SLOW_FOR_LIVE:
        # Measured: 150-500 ms a name in the engine alone (docs/performance.md).
        log.warning(
            "live speech (counterparties' names) uses a slow engine: put espeak-ng "
            "first in voice.engines and this one in the banks' own chains",
            extra={"engine": offline.identity.split(" ", 1)[0]},
        )
    live = LiveSpeech(settings.voice.cache_dir / "live", offline, settings.voice.whole_phrase)
    default_book = PromptBook(tenant_texts(settings, None, defaults), cache)
    return Deployment(lines, tenants, default_book, live, verbs, voices.health)


def _offers(
    source: str, registry: AdapterRegistry, tenant: Tenant, *, installed_only: bool = False
) -> frozenset[str]:
    """The optional operations the tenant's adapter offers (its factory says).
    ``installed_only`` (checking flows without adapters): an adapter that is not
    installed here offers none, so the flow may run none unguarded."""
    if installed_only and tenant.adapter.name not in registry.names():
        return frozenset()
    try:
        offered = registry.offers(tenant.adapter.name, tenant.adapter.settings)
    except AdapterSetupError as exc:
        field = exc.field.replace("adapter_settings", "adapter.settings")
        raise ConfigError(source, f"tenants.{tenant.id}.{field}", exc.problem) from None
    return frozenset(operation.value for operation in offered)


def _check_offered_methods(
    source: str, tenant: Tenant, adapter: object, offers: frozenset[str]
) -> None:
    """What the factory says its adapter offers, the adapter has (``async def``)."""
    for name in sorted(offers):
        if not inspect.iscoroutinefunction(getattr(adapter, name, None)):
            raise ConfigError(
                source,
                f"tenants.{tenant.id}.adapter",
                f"the adapter {tenant.adapter.name!r} says it offers {name!r} but has no "
                f"'async def {name}'",
            )


def _sms_sender(source: str, tenant: Tenant, senders: SmsSenderRegistry) -> SmsSender:
    """The bank's SMS sender, built from ``tenants.ID.sms``; errors name the field."""
    assert tenant.sms is not None
    try:
        return senders.create(tenant.sms.sender, tenant.sms.settings)
    except SmsSetupError as exc:
        raise ConfigError(source, f"tenants.{tenant.id}.sms.{exc.field}", exc.problem) from None


def _check_languages(source: str, tenant: Tenant, flow: Flow) -> None:
    """A bank that offers languages has a flow that offers them."""
    if tenant.languages and not any(s.verb.offers_languages for s in flow.states.values()):
        raise ConfigError(
            source,
            f"tenants.{tenant.id}.languages",
            f"the flow {tenant.flow.name} has no state with the 'language' verb to offer them",
        )


def _webservice(state: State) -> tuple[str, str] | None:
    """The webservice a state calls (its url and the variable holding its key)."""
    params = state.params
    return (params.url, params.secret_env) if isinstance(params, WebhookParams) else None


def _check_webservices(where: str, seed_file: Path, seed: Flow, flow: Flow) -> None:
    """A version from the store (saved on the admin page or imported) calls
    only the webservices the bank's flow file calls, with the same key: an
    admin who may publish may not send callers' values, nor requests signed
    with another variable of this node's environment, anywhere else. The
    file is the operator's: a new webservice starts there."""
    allowed = {target for state in seed.states.values() if (target := _webservice(state))}
    for name, state in flow.states.items():
        target = _webservice(state)
        if target is not None and target not in allowed:
            raise ConfigError(
                where,
                f"states.{name}.params.url",
                f"calls {target[0]} with the key in {target[1]}, which the bank's flow file "
                f"({seed_file}) does not: a version may only call the webservices of that file",
            )


def _check_queues(source: str, tenant: Tenant, flow: Flow) -> None:
    """Every queue a transfer of the tenant's flow names is one of its queues."""
    for name, state in flow.states.items():
        wanted = state.verb.queue(state.params)
        if wanted is not None and wanted not in tenant.queues:
            raise ConfigError(
                source,
                f"tenants.{tenant.id}.queues",
                f"the flow's state {name!r} transfers to queue {wanted!r}, which is not defined",
            )
