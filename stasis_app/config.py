"""Loading infolinia's configuration: one YAML file (``config/infolinia.yaml``)
plus environment overrides for what must not live in files (the ARI password).

Every problem is reported as :class:`~stasis_app.errors.ConfigError` naming the
file and the field.
"""

import os
import socket
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import psycopg
import yaml
from psycopg.conninfo import conninfo_to_dict
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from stasis_app.errors import ConfigError
from stasis_app.tenants import EngineChoice, Tenant
from voice.fragments import DEFAULT_PAUSE_MS, PAUSE_RANGE_MS
from voice.live import DEFAULT_WHOLE_PHRASE, WholeKind, WholeLanguage

DEFAULT_CONFIG = Path("config/infolinia.yaml")

# aioari puts credentials into the websocket URL's query string without encoding.
UNSAFE_CREDENTIAL_CHARS = set("&=?#%+ /:")


# The state store's PostgreSQL URL and its password's other homes (stasis_app.store.postgres).
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
STATE_PASSWORD_ENV = "INFOLINIA_STATE_PASSWORD"
STATE_PASSWORD_FILE_ENV = "INFOLINIA_STATE_PASSWORD_FILE"


def is_postgres_url(state: object) -> bool:
    """Whether a ``state:`` value names a PostgreSQL store."""
    return isinstance(state, str) and state.startswith(POSTGRES_SCHEMES)


def check_state_url(url: str) -> str:
    """``url`` when it names a PostgreSQL database without credentials in it;
    ValueError saying what is wrong otherwise (the URL is not repeated: it
    may carry a password)."""
    if not is_postgres_url(url):
        raise ValueError("a PostgreSQL store is named by a postgresql:// URL")
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        raise ValueError("not a PostgreSQL URL (postgresql://user@host:port/database)") from None
    if "password" in params or urlsplit(url).password is not None:
        raise ValueError(
            "the URL carries a password: take it out, and give it in "
            f"${STATE_PASSWORD_ENV}, in a 0600 file named by ${STATE_PASSWORD_FILE_ENV}, or "
            "in PostgreSQL's own ~/.pgpass (PGPASSFILE); a password never lives in the config"
        )
    if not params.get("dbname"):
        raise ValueError("the URL names no database (postgresql://user@host:port/database)")
    return url


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AriSettings(_Strict):
    """How to reach Asterisk's REST interface."""

    url: str = "http://127.0.0.1:8088/"
    user: str = "infolinia"
    password: str | None = Field(default=None, repr=False)
    password_file: Path | None = None
    app: str = "infolinia"
    ping_interval: float = Field(default=2.0, gt=0)
    ping_timeout: float = Field(default=2.0, gt=0)
    request_timeout: float = Field(default=5.0, gt=0)
    # Calls in progress the app takes on; one more is handed back to the
    # dialplan (its fallback: a consultant). None: no limit.
    max_calls: int | None = Field(default=None, ge=1)

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value if value.endswith("/") else value + "/"


class VoiceSettings(_Strict):
    """How prompts are synthesized and where the rendered audio lives.

    ``engines`` is the deployment's chain of TTS engines, in order of
    preference (a tenant may have its own). Files written before chains
    existed give ``engine``, ``voice`` and ``speed`` instead: one espeak-ng
    voice, which is still understood.
    """

    engines: list[EngineChoice] | None = Field(default=None, min_length=1)
    engine_cooloff: float = Field(
        default=60.0, gt=0, description="seconds a failed engine rests before it is tried again"
    )
    # voice.fragments: each word of a number is cut to its speech, then this pause.
    fragment_pause_ms: int = Field(
        default=DEFAULT_PAUSE_MS,
        ge=PAUSE_RANGE_MS[0],
        le=PAUSE_RANGE_MS[1],
        description="milliseconds of silence between the words of a number, amount or date",
    )
    # voice.live: per language, the kinds of number spoken whole at call time by
    # the offline engine (their fragments are too slow; docs/performance.md).
    whole_phrase: dict[WholeLanguage, list[WholeKind]] = Field(
        default_factory=lambda: {lang: list(kinds) for lang, kinds in DEFAULT_WHOLE_PHRASE.items()},
        description="per language (pl, uk, en), the kinds of number (digits, amount, date) "
        "spoken whole by the offline engine during the call instead of word by word",
    )
    cache_dir: Path = Path("/var/lib/infolinia/prompts")
    # The single-engine form, before chains (it only ever meant espeak-ng):
    engine: Literal["espeak-ng"] | None = None
    voice: str | None = None
    speed: int | None = Field(default=None, ge=80, le=450, description="words per minute")

    @field_validator("cache_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        # Asterisk resolves relative sound names under its own sounds folder.
        if not value.is_absolute():
            raise ValueError("must be an absolute path (Asterisk plays it by that path)")
        return value

    @model_validator(mode="after")
    def _one_form(self) -> "VoiceSettings":
        if self.engines is not None and (self.engine, self.voice, self.speed) != (None,) * 3:
            raise ValueError(
                "give voice.engines or the older engine/voice/speed, not both "
                "(move voice and speed into the espeak-ng entry's settings)"
            )
        return self

    def chain(self) -> list[EngineChoice]:
        """The deployment's engines in order of preference."""
        if self.engines is not None:
            return self.engines
        older = {"voice": self.voice, "speed": self.speed}
        return [
            EngineChoice(
                name="espeak-ng",
                settings={key: value for key, value in older.items() if value is not None},
            )
        ]


class AdminSettings(_Strict):
    """The admin HTTP API (prompt editing): on this machine only, unless told otherwise."""

    enabled: bool = True
    listen: str = Field(default="127.0.0.1", description="address to bind; 0.0.0.0 for all")
    port: int = Field(default=8090, ge=1, le=65535)
    behind_https_proxy: bool = Field(
        default=False,
        description="a TLS-terminating proxy serves the admin page: its cookies are "
        "marked Secure although the app itself sees plain http",
    )
    webrtc_url: str | None = Field(
        default=None,
        description="where a browser reaches Asterisk's SIP over WebSocket for a test call "
        "from the page (ws:// or wss://...); default: ARI's host and port, path /ws",
    )

    @field_validator("webrtc_url")
    @classmethod
    def _websocket(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("ws://", "wss://")):
            raise ValueError("must start with ws:// or wss://")
        return value


class SecuritySettings(_Strict):
    """Guessing limits, timings that hide what a refusal means, and how a
    failing core system is handled (see docs/security.md)."""

    lock_after: int = Field(default=5, ge=2, le=50, description="failed logins in a row that lock")
    lock_minutes: float = Field(default=30, gt=0, description="how long a lock lasts")
    caller_window_minutes: float = Field(default=60, gt=0, description="memory of a number's tries")
    caller_slow_after: int = Field(
        default=3, ge=1, description="distinct customer numbers, then slow"
    )
    caller_refuse_after: int = Field(
        default=6, ge=2, description="distinct customer numbers, then no"
    )
    slow_seconds: float = Field(default=3.0, ge=0, le=30, description="extra wait when slowed")
    login_rate_per_minute: int = Field(
        default=120, ge=1, description="phone logins a bank takes a minute (a tenant may say less)"
    )
    login_hold_seconds: float = Field(
        default=120,
        ge=10,
        le=3600,
        description="a login's hold on its customer number, if its app dies mid-login",
    )
    login_wait_seconds: float = Field(
        default=15,
        ge=0,
        le=120,
        description="a login waits this long for another one for the same customer number",
    )
    min_login_seconds: float = Field(
        default=1.0, ge=0, le=10, description="every login answer's floor"
    )
    filler_after: float = Field(
        default=1.5, gt=0, le=10, description="a slow bank: 'please wait' after"
    )
    breaker_failures: int = Field(default=3, ge=1, le=100, description="core failures that open it")
    breaker_seconds: float = Field(default=30, gt=0, description="how long an open breaker refuses")
    journal_retry_seconds: float = Field(default=10, gt=0, description="journal delivery rounds")
    spool_dir: Path | None = Field(
        default=None,
        description="this node's own folder for blocks the state store cannot take yet "
        "(default: beside a SQLite store; /var/lib/infolinia/spool with PostgreSQL)",
    )
    shutdown_grace: float = Field(
        default=60, ge=0, le=3600, description="on stop, calls may finish for this long"
    )


class AuditSettings(_Strict):
    """The audit trail's key and its signed heads (docs/security.md, Audit).

    The key signs every entry (HMAC-SHA256): whoever can write the state store
    but not read the key cannot rewrite the trail unseen. It comes from
    ``$INFOLINIA_AUDIT_KEY`` or ``key_file`` (0600, outside the state store's
    folder, so that the store's backups do not carry it); a missing file is
    created on the first entry, unless the trail was already keyed.
    """

    key_file: Path = Field(
        default=Path("/etc/infolinia/audit.key"), description="0600; or $INFOLINIA_AUDIT_KEY"
    )
    heads_file: Path | None = Field(
        default=Path("/var/log/infolinia/audit-heads.log"),
        description="signed chain heads, appended; ship it to the bank's log system",
    )
    heads_every_entries: int = Field(
        default=1, ge=1, description="a signed head after every N entries this app writes"
    )
    heads_interval: float = Field(
        default=10, gt=0, description="seconds between looks for entries other processes wrote"
    )


# A host (name or IPv4 address) and a port: where SIP goes, in a cluster.
HOST_PORT = r"^[A-Za-z0-9][A-Za-z0-9.-]*:[0-9]{1,5}$"


class ClusterSettings(_Strict):
    """This node's place in a cluster (docs/scaling.md): while its ARI link
    is up, the app registers ``app-<node>`` at the SIP proxy (Kamailio), which
    sends the node calls only while that registration holds."""

    proxy: str = Field(
        pattern=HOST_PORT, description="the SIP proxy's host:port (UDP), e.g. 127.0.0.1:5070"
    )
    contact: str = Field(
        pattern=HOST_PORT, description="this node's Asterisk SIP host:port, as the proxy lists it"
    )
    every: float = Field(default=1.0, gt=0, description="seconds between registrations")
    expires: int = Field(default=3, ge=1, description="a registration holds this long")


# Which audit settings belong to which state store: every AuditLog on a store
# (the app's, a CLI command's) finds the key its config names.
_AUDIT_BY_STATE: dict[str, AuditSettings] = {}


def _state_key(state: Path | str) -> str:
    return state if isinstance(state, str) else os.path.abspath(state)


def audit_settings(state: Path | str) -> AuditSettings:
    """The audit settings of the config that named the state store ``state``
    (a file, or a PostgreSQL URL; the defaults when no config loaded here named it)."""
    return _AUDIT_BY_STATE.get(_state_key(state), AuditSettings())


class Settings(_Strict):
    """The whole configuration of one infolinia deployment."""

    ari: AriSettings = AriSettings()
    voice: VoiceSettings = VoiceSettings()
    prompts: Path = Path("prompts/pl.yaml")
    tenants: dict[str, Tenant] = Field(default_factory=dict)
    log_level: str = "info"
    # State that survives a restart: prompt edits and their history, admin tokens,
    # audit, journal, ...: a SQLite file (a Path), or a postgresql:// URL (a str,
    # never with a password in it) for a store shared by several nodes.
    state: Path | str = Path("/var/lib/infolinia/state.sqlite")
    admin: AdminSettings = AdminSettings()
    security: SecuritySettings = SecuritySettings()
    audit: AuditSettings = AuditSettings()
    # This instance's name in logs and /metrics (a cluster's node); and its cluster.
    node: str = Field(default_factory=socket.gethostname, min_length=1)
    cluster: ClusterSettings | None = None
    # Where the file was read from; relative paths inside it are resolved against it.
    source: Path = Path("<defaults>")

    @field_validator("state", mode="before")
    @classmethod
    def _state_file_or_url(cls, value: object) -> Path | str:
        if is_postgres_url(value):
            return check_state_url(str(value))  # its message never echoes the URL
        if isinstance(value, str | Path):
            return Path(value)
        raise ValueError("a file path, or a postgresql:// URL")


def read_yaml(path: Path, loader: type[yaml.SafeLoader] = yaml.SafeLoader) -> Any:
    """Parse a YAML file; a missing file or bad YAML is a ConfigError naming it."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except FileNotFoundError:
        raise ConfigError(str(path), "-", "file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), "-", f"not valid YAML: {exc}") from None


def load_settings(
    path: Path | None = None, env: dict[str, str] | None = None, *, resolve_secrets: bool = True
) -> Settings:
    """Read the config file, apply environment overrides and validate everything.

    ``resolve_secrets=False`` skips reading the ARI password (the sandbox needs
    the rest of the settings before it has created that password).
    """
    env = dict(os.environ if env is None else env)
    path = Path(env.get("INFOLINIA_CONFIG", path or DEFAULT_CONFIG))
    file = str(path)
    raw = read_yaml(path) or {}
    if not isinstance(raw, dict):
        raise ConfigError(file, "-", "must be a mapping of settings")

    tenants = raw.get("tenants") or {}
    if isinstance(tenants, dict):
        raw["tenants"] = {
            key: {"id": key, **spec} if isinstance(spec, dict) else spec
            for key, spec in tenants.items()
        }
    ari = dict(raw.get("ari") or {})
    for key in ("url", "user", "password", "app"):
        if f"INFOLINIA_ARI_{key.upper()}" in env:
            ari[key] = env[f"INFOLINIA_ARI_{key.upper()}"]
    raw["ari"] = ari
    if "INFOLINIA_PROMPT_DIR" in env:
        raw.setdefault("voice", {})
        raw["voice"] = {**raw["voice"], "cache_dir": env["INFOLINIA_PROMPT_DIR"]}
    if "INFOLINIA_STATE" in env:
        raw["state"] = env["INFOLINIA_STATE"]
    for key in ("key_file", "heads_file"):  # e.g. a container's secret and log volume
        if f"INFOLINIA_AUDIT_{key.upper()}" in env:
            raw["audit"] = {**(raw.get("audit") or {}), key: env[f"INFOLINIA_AUDIT_{key.upper()}"]}
    if "INFOLINIA_ADMIN_LISTEN" in env:  # e.g. 0.0.0.0 inside a container
        raw["admin"] = {**(raw.get("admin") or {}), "listen": env["INFOLINIA_ADMIN_LISTEN"]}
    # A cluster's node: the deployment's file, this node's name, port and proxy.
    if "INFOLINIA_ADMIN_PORT" in env:
        raw["admin"] = {**(raw.get("admin") or {}), "port": env["INFOLINIA_ADMIN_PORT"]}
    if "INFOLINIA_NODE" in env:
        raw["node"] = env["INFOLINIA_NODE"]
    if "INFOLINIA_SPOOL_DIR" in env:  # each node's own (docs/state.md)
        raw["security"] = {**(raw.get("security") or {}), "spool_dir": env["INFOLINIA_SPOOL_DIR"]}
    for key in ("proxy", "contact"):
        if (value := env.get(f"INFOLINIA_CLUSTER_{key.upper()}")) is not None:
            raw["cluster"] = {**(raw.get("cluster") or {}), key: value}

    try:
        settings = Settings(**raw, source=path)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        # pydantic prefixes our validators' messages with "Value error, ".
        raise ConfigError(file, field, first["msg"].removeprefix("Value error, ")) from None
    except TypeError as exc:
        raise ConfigError(file, "-", str(exc)) from None

    base = path.parent
    audit = _audit_paths(settings, file, base)
    return settings.model_copy(
        update={
            "audit": audit,
            "prompts": _relative_to(base, settings.prompts),
            "state": _state_at(base, settings.state),
            "tenants": {
                key: tenant.model_copy(update={"flow": _relative_to(base, tenant.flow)})
                for key, tenant in settings.tenants.items()
            },
            "ari": _with_password(settings.ari, file, base) if resolve_secrets else settings.ari,
        }
    )


def _state_at(base: Path, state: Path | str) -> Path | str:
    return state if isinstance(state, str) else _relative_to(base, state)


def _relative_to(base: Path, value: Path) -> Path:
    return value if value.is_absolute() else base / value


def _audit_paths(settings: Settings, file: str, base: Path) -> AuditSettings:
    """The audit key and heads files, resolved; the key never in the state's folder."""
    audit = settings.audit
    key_file = _relative_to(base, audit.key_file)
    heads = None if audit.heads_file is None else _relative_to(base, audit.heads_file)
    state = _state_at(base, settings.state)
    folder = None if isinstance(state, str) else Path(os.path.abspath(state.parent))
    if folder is not None and Path(os.path.abspath(key_file)).is_relative_to(folder):
        raise ConfigError(
            file,
            "audit.key_file",
            f"{key_file} is inside the state store's folder {folder}: whoever has the store "
            "(or a backup of it) would have the key that proves it unchanged; put it elsewhere",
        )
    audit = audit.model_copy(update={"key_file": key_file, "heads_file": heads})
    _AUDIT_BY_STATE[_state_key(state)] = audit
    return audit


def _with_password(ari: AriSettings, file: str, base: Path) -> AriSettings:
    """Resolve the ARI password (inline, env or file) and check it can travel in a URL."""
    password = ari.password
    if password is None and ari.password_file is not None:
        secret_path = _relative_to(base, ari.password_file)
        try:
            password = secret_path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            hint = (
                " (start the sandbox first: infolinia sandbox up)"
                if "sandbox" in str(secret_path)
                else ""
            )
            raise ConfigError(
                file, "ari.password_file", f"cannot read {secret_path}: {exc.strerror}{hint}"
            ) from None
    if not password:
        raise ConfigError(
            file, "ari.password", "no ARI password: set INFOLINIA_ARI_PASSWORD or ari.password_file"
        )
    for field, value in (("ari.user", ari.user), ("ari.password", password)):
        bad = sorted(set(value) & UNSAFE_CREDENTIAL_CHARS)
        if bad:
            raise ConfigError(
                file,
                field,
                "contains " + " ".join(repr(c) for c in bad) + ", which the ARI websocket "
                "URL cannot carry; choose letters, digits, '-', '_' or '.'",
            )
    return ari.model_copy(update={"password": password})


def load_prompt_texts(path: Path) -> dict[str, str]:
    """Read a prompt catalogue: a flat YAML mapping of prompt key to Polish text."""
    file = str(path)
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(file, "-", "must map prompt keys to texts")
    texts: dict[str, str] = {}
    for key, text in raw.items():
        if not isinstance(key, str) or not key.replace("_", "").isalnum():
            raise ConfigError(file, str(key), "prompt keys are letters, digits and '_'")
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(file, key, "must be a non-empty text")
        texts[key] = " ".join(text.split())
    return texts
