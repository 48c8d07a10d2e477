"""One registry for every kind of thing plugins register (adapters, TTS
engines, verbs): names to things, each with where it came from.

:class:`Registry` refuses two plugins registering one name and describes what
is installed; :class:`FactoryRegistry` adds building a thing from settings
that its own pydantic schema validates. A kind is a thin subclass naming
itself and its error (``adapters.registry.AdapterRegistry``,
``voice.registry.EngineRegistry``, ``stasis_app.verbs.registry.VerbRegistry``).
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from plugin.hooks import Registered

T = TypeVar("T")


@dataclass(frozen=True)
class Factory(Generic[T]):
    """How to build one named thing (an adapter, a TTS engine) from its settings."""

    name: str  # what a config writes, e.g. "demo", "espeak-ng"
    settings: type[BaseModel]  # validates the thing's settings
    create: Callable[[Any], T]  # called with a validated ``settings`` instance
    description: str = ""


@dataclass(frozen=True)
class Described:
    """One registered thing, as ``infolinia adapters list`` shows it."""

    name: str
    description: str
    plugin: str
    package: str
    version: str


class SetupError(Exception):
    """A registered thing cannot be set up: names the field at fault."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class Registry(Generic[T]):
    """Every thing of one kind the loaded plugins register, by name."""

    noun: ClassVar[str]  # in messages: "adapter", "TTS engine"
    error: ClassVar[type[SetupError]] = SetupError
    name_field: ClassVar[str] = "name"  # the config field that names the thing

    def __init__(self, registered: Iterable[Registered[T]]) -> None:
        self._items: dict[str, T] = {}
        self._described: dict[str, Described] = {}
        for group in registered:
            for item in group.items:
                name = self.name_of(item)
                if name in self._items:
                    raise self.error(
                        self.name_field,
                        f"two plugins register the {self.noun} {name!r}: "
                        f"{self._described[name].plugin} and {group.plugin}",
                    )
                self._items[name] = item
                self._described[name] = Described(
                    name, self.description_of(item), group.plugin, group.package, group.version
                )

    def name_of(self, item: T) -> str:
        """The name a config uses for ``item``."""
        raise NotImplementedError

    def description_of(self, item: T) -> str:
        """One line saying what ``item`` is."""
        return ""

    def names(self) -> list[str]:
        return sorted(self._items)

    def describe(self) -> list[Described]:
        return [self._described[name] for name in self.names()]

    def require(self, name: str) -> T:
        """The thing named ``name``; the error lists what is installed."""
        item = self._items.get(name)
        if item is None:
            raise self.error(
                self.name_field,
                f"no {self.noun} named {name!r} (installed: {', '.join(self.names())})",
            )
        return item


class FactoryRegistry(Registry[Factory[T]]):
    """A registry of factories: builds a thing from settings its schema validates."""

    settings_field: ClassVar[str] = "settings"  # where a schema error points
    create_field: ClassVar[str] = "name"  # where a failing ``create`` points
    create_errors: ClassVar[tuple[type[Exception], ...]] = (ValueError, OSError)

    def name_of(self, item: Factory[T]) -> str:
        return item.name

    def description_of(self, item: Factory[T]) -> str:
        return item.description

    def create(self, name: str, settings: Mapping[str, Any]) -> T:
        """Validate ``settings`` with the thing's own schema and build it."""
        factory = self.require(name)
        try:
            validated = factory.settings(**settings)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise self.error(f"{self.settings_field}.{where}", first["msg"]) from None
        try:
            return factory.create(validated)
        except self.create_errors as exc:
            # e.g. a secret file that cannot be read, a program not installed: said at start-up.
            raise self.error(self.create_field, str(exc)) from None
