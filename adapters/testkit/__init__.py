"""The adapter conformance kit: a pytest plugin that checks an adapter
against the rules of :mod:`adapters.spec`.

Run it against an installed adapter (found through its entry point or
``$INFOLINIA_PLUGINS``, as ``infolinia run`` finds it)::

    pytest -p adapters.testkit --adapter=mybank --adapter-config=testkit.yaml

With ``--adapter`` the kit collects its own checks (:mod:`adapters.testkit.checks`)
instead of the tests of the current directory; paths given on the command line
are collected as well. Each check is a test named after the rule it checks.

The config file (YAML)::

    settings:               # the adapter's own settings, validated by its schema
      url: https://sandbox.core.example/api
      database: "{tmp}/bank.sqlite"   # "{tmp}" becomes a fresh directory per run
    customer:               # a test customer of the vendor's sandbox
      number: "12345678"    # quoted: digits, as the caller types them
      pin: "1234"           # the telekod
      birth_date: 1950-02-01
    unknown_customer: "99999999"  # optional: a number that is nobody's
    timeout: 30             # optional: seconds each check may take
    new_pin: "5803"         # optional: a telekod the core accepts as new (change_telekod)

The test customer needs at least one card and one account, and at least two
operations booked on different days so that their order can be checked.

Each optional operation the adapter's factory says it offers
(``AdapterFactory(offers=...)``, :class:`adapters.spec.OptionalOperation`) is
checked too; the checks of one it does not offer are skipped, saying so.
``change_telekod`` is checked by changing the test customer's telekod to
``new_pin`` and back; ``execute_transfer`` carries out one of the customer's
predefined transfers (needs ``predefined_transfers`` and at least one).
**The checks block that customer's cards and internet banking**, and try a
few wrong PINs and dates of birth (never more than two in a row before a
right one), so point the kit at a sandbox, never at production.

Each check creates the adapter through the plugin registry, runs in one event
loop of its own and closes the adapter in that loop (an adapter's HTTP
session belongs to the loop it was opened in), like ``infolinia run`` does.
The checks need no pytest-asyncio and no ``asyncio_mode``.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from adapters.registry import AdapterRegistry, AdapterSetupError
from adapters.spec import CoreBanking, Customer, OptionalOperation
from plugin.manager import get_plugin_manager

CHECKS = Path(__file__).with_name("checks.py")
TMP_PLACEHOLDER = "{tmp}"

# Readable assertion failures even where pytest would not rewrite the module
# on its own (e.g. a vendor's import mode).
pytest.register_assert_rewrite("adapters.testkit.checks")


class SandboxCustomer(BaseModel):
    """A customer of the vendor's sandbox whom the checks log in as."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    number: str = Field(pattern=r"^[0-9]+$")
    pin: str = Field(pattern=r"^[0-9]+$")
    birth_date: date


class KitConfig(BaseModel):
    """The ``--adapter-config`` file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    settings: dict[str, Any] = Field(default_factory=dict)
    customer: SandboxCustomer
    unknown_customer: str = Field("99999999", pattern=r"^[0-9]+$")
    timeout: float = Field(30.0, gt=0)
    new_pin: str | None = Field(None, pattern=r"^[0-9]+$")

    @model_validator(mode="after")
    def _unknown_is_not_the_customer(self) -> "KitConfig":
        if self.unknown_customer == self.customer.number:
            raise ValueError("unknown_customer must not be the test customer's number")
        return self


def load_config(path: Path) -> KitConfig:
    """Read and validate the config file; a problem names the file and field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise pytest.UsageError(f"--adapter-config {path}: {exc}") from None
    try:
        return KitConfig.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top)"
        raise pytest.UsageError(f"--adapter-config {path}: {where}: {first['msg']}") from None


def with_tmp(value: Any, tmp: Path) -> Any:
    """``value`` with every ``{tmp}`` in its strings replaced by ``tmp``."""
    if isinstance(value, str):
        return value.replace(TMP_PLACEHOLDER, str(tmp))
    if isinstance(value, Mapping):
        return {key: with_tmp(item, tmp) for key, item in value.items()}
    if isinstance(value, list):
        return [with_tmp(item, tmp) for item in value]
    return value


# --- the pytest plugin -------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("adapters.testkit", "infolinia adapter conformance kit")
    group.addoption("--adapter", metavar="NAME", help="the adapter to check, as registered")
    group.addoption(
        "--adapter-config",
        metavar="FILE",
        type=Path,
        help="YAML: the adapter's settings and a sandbox test customer",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    known = early_config.known_args_namespace
    if getattr(known, "adapter", None) and not known.file_or_dir:
        # Only the checks will be collected: take the first conftest.py files from
        # next to them, not from the project's testpaths (whose hooks may reject
        # tests that are not the project's own).
        known.file_or_dir = [str(CHECKS)]


def pytest_configure(config: pytest.Config) -> None:
    name = config.getoption("adapter")
    file = config.getoption("adapter_config")
    if name is None and file is None:
        return
    if name is None or file is None:
        raise pytest.UsageError("the adapter testkit needs both --adapter and --adapter-config")
    kit_config = load_config(file)
    # The app's own plugin manager: a plugin that also registers engines or
    # verbs loads here as it does in `infolinia run`.
    registry = AdapterRegistry(get_plugin_manager())
    if name not in registry.names():
        installed = ", ".join(registry.names()) or "none"
        raise pytest.UsageError(f"--adapter: no adapter named {name!r} (installed: {installed})")
    config.stash[_SETUP] = _Setup(name, file, kit_config, registry)
    checks = str(CHECKS)
    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        # No paths given: the kit's checks, not the current directory's tests.
        config.args[:] = [checks]
    elif checks not in config.args:
        config.args.append(checks)


def pytest_report_header(config: pytest.Config) -> str | None:
    setup = config.stash.get(_SETUP, None)
    if setup is None:
        return None
    [info] = [i for i in setup.registry.describe() if i.name == setup.name]
    return (
        f"adapter testkit: {info.name} from {info.package} {info.version} "
        f"(plugin {info.plugin}), config {setup.file}"
    )


@dataclass(frozen=True)
class _Setup:
    name: str
    file: Path
    config: KitConfig
    registry: AdapterRegistry


_SETUP = pytest.StashKey[_Setup]()


class Kit:
    """What a check gets: the test customer, and a way to run against the adapter."""

    def __init__(self, setup: _Setup, settings: dict[str, Any]) -> None:
        self.adapter_name = setup.name
        self.config = setup.config
        self.customer = setup.config.customer
        self.unknown_customer = setup.config.unknown_customer
        self._registry = setup.registry
        self._settings = settings
        try:
            self.offers: frozenset[OptionalOperation] = self._registry.offers(
                self.adapter_name, settings
            )
        except AdapterSetupError as exc:
            pytest.exit(
                f"adapter {self.adapter_name!r}: what it offers cannot be told: {exc}",
                returncode=pytest.ExitCode.USAGE_ERROR,
            )

    def require(self, *operations: OptionalOperation) -> None:
        """Skip the check unless the adapter offers every one of ``operations``."""
        missing = [op.value for op in operations if op not in self.offers]
        if missing:
            pytest.skip(f"the adapter does not offer {', '.join(missing)}")

    def create(self) -> CoreBanking:
        """A new adapter from the config's settings, through the plugin registry."""
        try:
            return self._registry.create(self.adapter_name, self._settings)
        except AdapterSetupError as exc:
            pytest.exit(
                f"adapter {self.adapter_name!r} cannot be set up from the config's settings: {exc}",
                returncode=pytest.ExitCode.USAGE_ERROR,
            )

    def run(self, check: Callable[[CoreBanking], Awaitable[None]], *, close: bool = True) -> None:
        """Create the adapter, await ``check(adapter)`` and close the adapter, in
        one event loop. A failing ``close`` is judged by its own check only."""
        adapter = self.create()

        async def within_one_loop() -> None:
            limit = asyncio.timeout(self.config.timeout)
            try:
                async with limit:
                    await check(adapter)
            except TimeoutError:
                if not limit.expired():
                    raise  # the adapter's own TimeoutError: the check judges it
                pytest.fail(
                    f"the check did not finish within {self.config.timeout:g}s "
                    "(the config's timeout): the adapter hangs",
                    pytrace=False,
                )
            finally:
                if close:
                    with contextlib.suppress(Exception):
                        async with asyncio.timeout(self.config.timeout):
                            await adapter.close()

        asyncio.run(within_one_loop())

    async def login(self, adapter: CoreBanking) -> Customer:
        """The test customer, logged in with the PIN as the app does (which also
        clears the core's count of failed logins)."""
        return await adapter.authenticate(self.customer.number, self.customer.pin)


@pytest.fixture(scope="session")
def _kit_settings(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    setup = request.config.stash.get(_SETUP, None)
    if setup is None:
        pytest.fail(
            "the adapter testkit needs --adapter=NAME and --adapter-config=FILE", pytrace=False
        )
    return with_tmp(setup.config.settings, tmp_path_factory.mktemp("adapter"))


@pytest.fixture
def kit(request: pytest.FixtureRequest, _kit_settings: dict[str, Any]) -> Kit:
    """The adapter under test (see :class:`Kit`)."""
    return Kit(request.config.stash[_SETUP], _kit_settings)
