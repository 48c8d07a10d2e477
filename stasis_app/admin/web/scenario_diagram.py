"""The *Scenariusz* page's diagram: a version's states drawn by Graphviz
left to right along the caller's path (the first state, the greeting, the
menu, its branches), each box a link to its side panel.

- A box says the state's Polish name, with its key and verb small below.
- Common fallbacks are folded: an arrow to a state that at least
  :data:`FOLD_AT` arrows reach is not drawn across the page when its event
  is a failure (:data:`~stasis_app.flow.names.FALLBACK_EVENTS`) or the
  state ends the call's path (the consultant, the goodbye); the box lists it
  on a line of its own instead, and the endings stand at the right.
- States no path reaches are grey and dashed ("nieosiągalny"); a dead end
  (an event the state can emit with nowhere to go, or a transition to a
  state that does not exist) is red. The version may be a draft the checker
  refused: the diagram is drawn from the YAML as written, not from a
  checked flow, so it shows every such problem at once.
- Each state's ``<g>`` has the id ``node-<key>``: the page's script
  highlights the state a test call is in by that id.
"""

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError

from stasis_app.flow.editing import targets
from stasis_app.flow.names import FALLBACK_EVENTS, VERB_NAMES, event_name, state_title
from stasis_app.verbs.registry import VerbRegistry

FOLD_AT = 3


@dataclass
class StateMarks:
    """What the diagram and the panel say about one state."""

    title: str
    unreachable: bool = False
    dead_ends: list[str] = field(default_factory=list)  # events with nowhere to go
    missing: list[str] = field(default_factory=list)  # events to states that do not exist
    folded: list[tuple[str, str]] = field(default_factory=list)  # (event, target) not drawn


def _html(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _id(text: str) -> str:
    """A DOT quoted string (a state's name is the flow's: any text)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _emitted(verbs: VerbRegistry, spec: Mapping[str, Any], on: Mapping[str, str]) -> set[str]:
    """The events a state can emit that need a transition (empty when its
    params do not check: the checker names that problem itself)."""
    verb = verbs.get(str(spec.get("verb")))
    if verb is None:
        return set()
    try:
        params = verb.Params(**(spec.get("params") or {}))
        emitted = verb.events(params, list(on))
        made = verb.transitions(params, dict(on))
    except (ValidationError, ValueError, TypeError):
        return set()
    ends = {"done"} if verb.terminal else set()
    return emitted - ends - set(made)


def _ends(spec: Any) -> bool:
    """Whether a state ends the caller's path here (a consultant, a goodbye)."""
    return isinstance(spec, Mapping) and spec.get("verb") in ("transfer", "hangup")


def marks(
    states: Mapping[str, Any], initial: str, verbs: VerbRegistry, texts: Mapping[str, str]
) -> dict[str, StateMarks]:
    """Each state's name, whether a path reaches it, its dead ends and its folded arrows."""
    seen, todo = {initial}, [initial]
    while todo:
        for target in targets(states.get(todo.pop())):
            if target in states and target not in seen:
                seen.add(target)
                todo.append(target)
    arrows = Counter(t for spec in states.values() for t in targets(spec))
    out: dict[str, StateMarks] = {}
    for name, spec in states.items():
        spec = spec if isinstance(spec, Mapping) else {}
        raw = spec.get("on")
        on: Mapping[Any, Any] = raw if isinstance(raw, Mapping) else {}
        mark = StateMarks(state_title(spec, name, texts), unreachable=name not in seen)
        mark.dead_ends = sorted(_emitted(verbs, spec, {str(k): str(v) for k, v in on.items()}))
        for event, target in on.items():
            event, target = str(event), str(target)
            if target not in states:
                mark.missing.append(event)
            elif arrows[target] >= FOLD_AT and (event in FALLBACK_EVENTS or _ends(states[target])):
                mark.folded.append((event, target))
        out[str(name)] = mark
    return out


def to_dot(
    states: Mapping[str, Any], initial: str, found: Mapping[str, StateMarks], problem_state: str
) -> str:
    """DOT text of the diagram; ``problem_state``: the state the checker
    named (drawn red), '' for none."""
    lines = [
        "digraph scenario {",
        '  graph [rankdir=LR, fontname="DejaVu Sans", nodesep=0.25, ranksep=0.5, bgcolor="white"];',
        '  node [shape=box, style="rounded,filled", fillcolor="#f5f5f5", '
        'fontname="DejaVu Sans", fontsize=14, margin="0.12,0.06"];',
        '  edge [fontname="DejaVu Sans", fontsize=11, color="#666677"];',
    ]
    for name, spec in states.items():
        name = str(name)
        mark = found[name]
        verb = str(spec.get("verb", "?")) if isinstance(spec, Mapping) else "?"
        rows = [f"<b>{_html(mark.title)}</b>"]
        rows.append(
            f'<font point-size="10" color="#666666">{_html(name)} · '
            f"{_html(VERB_NAMES.get(verb, verb))}</font>"
        )
        for event, target in mark.folded:
            rows.append(
                f'<font point-size="10" color="#555555">↪ {_html(event_name(event))}: '
                f"{_html(found[target].title)}</font>"
            )
        color, border, style = "#f5f5f5", "#888888", "rounded,filled"
        if name == initial:
            color, border = "#e2f0fd", "#3366cc"
        if mark.unreachable:
            color, style = "#eeeeee", "rounded,filled,dashed"
            rows.append('<font point-size="10" color="#aa0000">nieosiągalny</font>')
        if mark.dead_ends or mark.missing:
            border = "#cc0000"
            rows.append('<font point-size="10" color="#aa0000">ślepy zaułek</font>')
        if name == problem_state:
            color, border = "#fde2e2", "#cc0000"
        label = "<br/>".join(rows)
        lines.append(
            f"  {_id(name)} [id={_id('node-' + name)}, URL={_id('?state=' + quote(name))}, "
            'target="_top", '
            f'tooltip="{_html(mark.title)}", label=<{label}>, fillcolor="{color}", '
            f'color="{border}", style="{style}"];'
        )
    for name, spec in states.items():
        mark = found[str(name)]
        on = spec.get("on") if isinstance(spec, Mapping) else None
        drawn: set[tuple[str, str]] = set()
        for event, target in (on or {}).items() if isinstance(on, Mapping) else ():
            event, target = str(event), str(target)
            if target in states and (event, target) not in mark.folded:
                drawn.add((event, target))
                label = _html(event_name(event))
                lines.append(f'  {_id(name)} -> {_id(target)} [label="{label}"];')
        for target in targets(spec):  # a goto's, a route's, a webhook's: no event of its own
            if (
                target in states
                and not any(t == target for _, t in drawn)
                and target not in (on or {}).values()
            ):
                lines.append(f"  {_id(name)} -> {_id(target)} [style=dashed];")
    ends = [str(n) for n, spec in states.items() if _ends(spec)]
    if ends:  # the endings most arrows fold into: at the right, after the paths
        lines.append("  { rank=sink; " + " ".join(f"{_id(n)};" for n in ends) + " }")
    lines.append("}")
    return "\n".join(lines) + "\n"
