"""A flow file, loaded and validated before any call is taken.

A flow is ``initial`` plus ``states``; each state is ``{verb, params, on}``
(``on`` maps the verb's events to next states). Loading rejects: unknown
verbs or params, prompts missing from the prompt catalogue, transitions to
states that do not exist, events a verb can emit with no transition (a dead
end that neither hangs up nor transfers), transitions on events the verb
never emits, and states no path reaches. Every error names the file, the
state and the field.
"""

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from stasis_app.errors import ConfigError

if TYPE_CHECKING:  # the verbs build on the flow's context: no import back at run time
    from stasis_app.verbs.base import Verb, VerbParams
    from stasis_app.verbs.registry import VerbRegistry

TOP_KEYS = {"initial", "states", "description"}


class _FlowLoader(yaml.SafeLoader):
    """YAML without 1.1's booleans: ``on``, ``yes`` and ``no`` stay words
    (``on: {yes: ..., no: ...}`` is the natural way to write a flow)."""


_FlowLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_FlowLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)
STATE_KEYS = {"verb", "params", "on", "description", "title"}  # title: stasis_app/flow/names.py


@dataclass(frozen=True)
class State:
    name: str
    verb: "Verb[Any]"
    params: "VerbParams"
    on: dict[str, str]


@dataclass(frozen=True)
class Flow:
    source: Path
    initial: str
    states: dict[str, State]
    version: str = ""  # a hash of the file (call records name the flow they ran)

    def prompt_keys(self) -> set[str]:
        """Every static prompt the flow can play."""
        keys: set[str] = set()
        for state in self.states.values():
            keys |= state.verb.prompts(state.params)
        return keys


def load_flow(path: Path, verbs: "VerbRegistry", prompts: Iterable[str] | None = None) -> Flow:
    """Load and validate ``path``; ``prompts`` are the prompt keys that exist."""
    try:
        data = path.read_bytes()  # bytes: the version hashes the file as it is
    except FileNotFoundError:
        raise ConfigError(str(path), "-", "file not found") from None
    return load_flow_text(data.decode("utf-8"), path, verbs, prompts)


def parse_flow_text(text: str, where: str) -> Any:
    """A flow's YAML as data (``on``, ``yes``, ``no`` stay words); bad YAML is a
    ConfigError naming ``where``."""
    try:
        return yaml.load(text, Loader=_FlowLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(where, "-", f"not valid YAML: {exc}") from None


def load_flow_text(
    text: str,
    source: Path,
    verbs: "VerbRegistry",
    prompts: Iterable[str] | None = None,
    where: str | None = None,
) -> Flow:
    """Validate a flow given as its YAML ``text`` (a file's, or a version's in
    the store: :mod:`stasis_app.flow.versions`); ``source`` is the file it is
    (or was imported from), ``where`` what errors name (default: that file).
    The flow's version is the same hash whichever way its text came."""
    file = where or str(source)
    raw = parse_flow_text(text, file)
    if not isinstance(raw, dict):
        raise ConfigError(file, "-", "a flow is a mapping with 'initial' and 'states'")
    for key in raw:
        if key not in TOP_KEYS:
            raise ConfigError(file, str(key), "unknown key (a flow has initial and states)")
    states_raw = raw.get("states")
    if not isinstance(states_raw, dict) or not states_raw:
        raise ConfigError(file, "states", "missing or empty")
    initial = raw.get("initial")
    if initial not in states_raw:
        raise ConfigError(file, "initial", f"{initial!r} is not a state of this flow")

    states = {name: _state(file, str(name), spec, verbs) for name, spec in states_raw.items()}
    flow = Flow(source, str(initial), states, flow_hash(text))
    _check_transitions(file, flow)
    _check_reachable(file, flow)
    _check_secrets(file, flow)
    if prompts is not None:
        known = set(prompts)
        for state in flow.states.values():
            missing = sorted(state.verb.prompts(state.params) - known)
            if missing:
                raise ConfigError(
                    file, f"states.{state.name}.params", f"prompt {missing[0]!r} does not exist"
                )
    return flow


def flow_hash(text: str) -> str:
    """A flow's version: the first 12 hex digits of the SHA-256 of its text
    (UTF-8), as call records carry it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _state(file: str, name: str, spec: Any, verbs: "VerbRegistry") -> State:
    where = f"states.{name}"
    if not isinstance(spec, dict):
        raise ConfigError(file, where, "a state is a mapping with verb, params and on")
    for key in spec:
        if key not in STATE_KEYS:
            raise ConfigError(
                file, f"{where}.{key}", "unknown key (a state has verb, params, on, title)"
            )
    verb = verbs.get(str(spec.get("verb")))
    if verb is None:
        raise ConfigError(
            file,
            f"{where}.verb",
            f"unknown verb {spec.get('verb')!r} (known: {', '.join(verbs.names())})",
        )
    try:
        params = verb.Params(**(spec.get("params") or {}))
    except ValidationError as exc:
        errors = exc.errors()
        # A misspelt param shows up as "unknown" and as "missing": name the typo.
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc = ".".join(str(part) for part in first["loc"])
        raise ConfigError(file, f"{where}.params.{loc}".rstrip("."), first["msg"]) from None
    on = spec.get("on") or {}
    if not isinstance(on, dict) or not all(isinstance(v, str) for v in on.values()):
        raise ConfigError(file, f"{where}.on", "maps events to state names")
    on = verb.transitions(params, {str(event): target for event, target in on.items()})
    return State(name, verb, params, on)


def _check_transitions(file: str, flow: Flow) -> None:
    for state in flow.states.values():
        where = f"states.{state.name}.on"
        try:
            emitted = state.verb.events(state.params, list(state.on))
        except ValueError as exc:
            raise ConfigError(file, where, str(exc)) from None
        for event, target in state.on.items():
            if target not in flow.states:
                raise ConfigError(file, f"{where}.{event}", f"goes to {target!r}, not a state")
            if event not in emitted:
                raise ConfigError(
                    file,
                    f"{where}.{event}",
                    f"{state.verb.name} never emits {event!r} (it emits: "
                    f"{', '.join(sorted(emitted)) or 'nothing'})",
                )
        # A terminal verb's "done" ends the flow: it needs no transition.
        ends = {"done"} if state.verb.terminal else set()
        for event in sorted(emitted - state.on.keys() - ends):
            raise ConfigError(
                file,
                f"{where}.{event}",
                f"no transition for {event!r}: the call would stop here without a "
                "hangup or a transfer",
            )


def _check_secrets(file: str, flow: Flow) -> None:
    """A secret a state needs (a telekod, a new telekod, a code) must come
    only from gathers that keep it secret: a PIN gathered as a plain value by
    any of the gathers into that name could reach a log or a webhook, and be
    sent to the bank as empty (a wrong telekod counted against the customer)."""
    gathered: dict[str, list[tuple[str, bool]]] = {}
    for state in flow.states.values():
        kept = state.verb.gathers(state.params)
        if kept is not None:
            gathered.setdefault(kept.into, []).append((state.name, kept.secret))
    for state in flow.states.values():
        for name in state.verb.uses_secrets(state.params):
            gathers = gathered.get(name, [])
            if not gathers:
                raise ConfigError(
                    file,
                    f"states.{state.name}.params.secret",
                    f"no gather with 'into: {name}' and 'secret: true' collects it",
                )
            for gather, secret in gathers:
                if not secret:
                    raise ConfigError(
                        file,
                        f"states.{gather}.params.secret",
                        f"'{name}' is a secret state {state.name!r} needs: every gather "
                        "into it must keep it secret (secret: true)",
                    )


def _check_reachable(file: str, flow: Flow) -> None:
    seen = {flow.initial}
    todo = [flow.initial]
    while todo:
        for target in flow.states[todo.pop()].on.values():
            if target not in seen:
                seen.add(target)
                todo.append(target)
    for name in flow.states:
        if name not in seen:
            raise ConfigError(file, f"states.{name}", "no path from the initial state reaches it")
