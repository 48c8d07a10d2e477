"""The funnel of each path through a bank's flow: of the calls that took a
path (pressed its key at the first menu), how many reached each step, and
how many hung up there.

The paths and their steps come from the flow itself, not from state names
written here:

* the *first menu* is the first ``menu`` state the caller reaches from the
  flow's initial state, following each state's first transition (the
  greeting's ``done``);
* each digit option of that menu starts a path (``main_menu 1``: the
  blocking, ``main_menu 2``: the balance in the shipped flow);
* a path's steps are the states from the option's target along each state's
  *first* transition, the one a flow's author writes first for the way
  forward (``done``, ``ok``, ``yes``, ``chosen``; at a later menu its first
  option), until a terminal state, a state already on the path, the first
  menu again, or :data:`MAX_STEPS`. A path of one step (``0``: straight to a
  consultant) is not a funnel and is left out (the queue's figures are
  its figures).

How many calls *reached* a step is counted from the call records' states
(table ``call_states``: each state a call entered, once); *hung up* is the
drop-off of that state (calls whose caller hung up there). A state the
records never entered counts 0, so a funnel over an older flow version
shows where that version's calls no longer pass.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stasis_app.flow.model import Flow

MAX_STEPS = 16


@dataclass(frozen=True)
class Path:
    menu: str  # the first menu's state
    key: str  # the option pressed there
    steps: tuple[tuple[str, str], ...]  # (state, verb), in order

    @property
    def name(self) -> str:
        return f"{self.menu} {self.key}"


def first_menu(flow: "Flow") -> str | None:
    """The first ``menu`` state reached from the flow's start (None: none),
    a ``route``'s default taken (the way most calls go: the hand-over or the
    webservice line branch off before it)."""
    state: str | None = flow.initial
    seen: set[str] = set()
    while state is not None and state in flow.states and state not in seen:
        found = flow.states[state]
        if found.verb.name == "menu":
            return state
        seen.add(state)
        state = found.on.get("default") or next(iter(found.on.values()), None)
    return None


def paths(flow: "Flow") -> list[Path]:
    """The flow's paths of two steps or more, in the first menu's order."""
    menu = first_menu(flow)
    if menu is None:
        return []
    out: list[Path] = []
    for key, target in flow.states[menu].on.items():
        if not key.isdigit():  # failed, timeouts: not a caller's choice
            continue
        steps: list[tuple[str, str]] = []
        state: str | None = target
        while (
            state is not None
            and state in flow.states
            and state != menu
            and state not in (s for s, _ in steps)
            and len(steps) < MAX_STEPS
        ):
            found = flow.states[state]
            steps.append((state, found.verb.name))
            if found.verb.terminal:
                break
            # The first way on that every bank takes: not a feature's guard (a
            # route's several_accounts branch), which only some banks turn on.
            guarded = found.verb.features(found.params)
            state = next((t for e, t in found.on.items() if e not in guarded), None)
        if len(steps) >= 2:
            out.append(Path(menu, key, tuple(steps)))
    return out


def funnel(
    flow_paths: list[Path], reached: Mapping[str, int], hung_up: Mapping[str, int]
) -> list[dict[str, Any]]:
    """Each path with each step's calls that reached it and hung up there."""
    return [
        {
            "path": path.name,
            "menu": path.menu,
            "key": path.key,
            "steps": [
                {
                    "state": state,
                    "verb": verb,
                    "reached": reached.get(state, 0),
                    "hung_up": hung_up.get(state, 0),
                }
                for state, verb in path.steps
            ],
        }
        for path in flow_paths
    ]
