"""The typical edits of a flow, as the *Scenariusz* page makes them: on
the YAML text of a version, keeping its comments, its order and its short
``{...}`` style (ruamel.yaml's round trip; PyYAML would drop the comments a
bank's flow file explains itself with). Each edit returns nothing and
changes the document; :meth:`FlowDocument.text` is the new version's text,
which the caller saves as a draft (the flow checker runs there).

    add_menu_option     "3 — informacje o banku": a new say state with a new
                        prompt, back to the menu after it
    change_key          the option on key 1 moves to key 4
    remove_option       the key goes, and the states only it reached
    set_target          an event goes to another (or a new) state
    insert_say          a say state between a state and where it went
    to_consultant       an option hands the caller to a consultant (queue)
    to_webhook          an option asks the bank's webservice (one the file has)
    set_params/set_title  the side panel's form
"""

import io
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from stasis_app.errors import InfoliniaError

KEY = re.compile(r"^[0-9*#]$")


class EditError(InfoliniaError):
    """The edit cannot be made on this flow (the message is in Polish, for
    the admin who asked)."""


def _yaml() -> YAML:
    yaml = YAML()  # round trip; YAML 1.2: on, yes, no stay words (as the flow loader reads)
    yaml.preserve_quotes = True
    yaml.width = 4096  # long {...} lines stay whole: no re-wrapping noise in the diff
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _flow_map(values: Mapping[str, Any]) -> CommentedMap:
    """A ``{a: 1, b: 2}`` mapping, as the flow files write params and on."""
    out = CommentedMap(values)
    out.fa.set_flow_style()
    return out


def _flow_list(values: Iterable[Any]) -> CommentedSeq:
    out = CommentedSeq(values)
    out.fa.set_flow_style()
    return out


def slug(title: str) -> str:
    """A key made of a Polish title: "Informacje o banku" -> informacje_o_banku."""
    plain = unicodedata.normalize("NFKD", title.replace("ł", "l").replace("Ł", "L"))
    ascii_only = plain.encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", ascii_only)
    return "_".join(words)[:40].strip("_") or "stan"


def targets(spec: Any) -> list[str]:
    """The states a state's YAML can go to: its ``on``, and the states a
    goto, a route or a webhook names in its params."""
    if not isinstance(spec, Mapping):
        return []
    found = (
        [str(t) for t in (spec.get("on") or {}).values()]
        if isinstance(spec.get("on"), Mapping)
        else []
    )
    params = spec.get("params") or {}
    if isinstance(params, Mapping):
        for name in ("to", "default"):
            if isinstance(params.get(name), str):
                found.append(params[name])
        for branch in params.get("branches") or []:
            if isinstance(branch, Mapping) and isinstance(branch.get("to"), str):
                found.append(branch["to"])
        goto = params.get("goto")
        if isinstance(goto, list):
            found.extend(str(g) for g in goto)
    return found


def _event(event: str) -> str:
    """A menu key written as the flow files write it ("3"); other events plain."""
    return DoubleQuotedScalarString(event) if KEY.match(event) else event


class FlowDocument:
    """One version's YAML, open for edits."""

    def __init__(self, text: str) -> None:
        try:
            data = _yaml().load(text)
        except Exception as exc:  # ruamel's errors have no common base worth naming
            raise EditError(f"tekst przebiegu nie jest poprawnym YAML: {exc}") from None
        if not isinstance(data, CommentedMap) or not isinstance(data.get("states"), CommentedMap):
            raise EditError("przebieg nie ma sekcji 'states'")
        self.data = data

    @property
    def states(self) -> CommentedMap:
        states: CommentedMap = self.data["states"]
        return states

    @property
    def initial(self) -> str:
        return str(self.data.get("initial", ""))

    def text(self) -> str:
        out = io.StringIO()
        _yaml().dump(self.data, out)
        return out.getvalue()

    def state(self, name: str) -> CommentedMap:
        spec = self.states.get(name)
        if not isinstance(spec, CommentedMap):
            raise EditError(f"nie ma stanu {name!r}")
        return spec

    def on(self, name: str) -> CommentedMap:
        spec = self.state(name)
        if not isinstance(spec.get("on"), CommentedMap):
            spec["on"] = _flow_map({})
        on: CommentedMap = spec["on"]
        return on

    def new_name(self, title: str) -> str:
        """A state name made of ``title`` that no state has yet."""
        base = slug(title)
        name, n = base, 2
        while name in self.states:
            name, n = f"{base}_{n}", n + 1
        return name

    def reachable(self) -> set[str]:
        seen = {self.initial}
        todo = [self.initial]
        while todo:
            for target in targets(self.states.get(todo.pop())):
                if target in self.states and target not in seen:
                    seen.add(target)
                    todo.append(target)
        return seen

    def add_state(
        self,
        after: str,
        verb: str,
        params: Mapping[str, Any] | None = None,
        on: Mapping[str, str] | None = None,
        title: str = "",
        name: str = "",
    ) -> str:
        """A new state written just after state ``after``; returns its name."""
        name = name or self.new_name(title or verb)
        if name in self.states:
            raise EditError(f"stan {name!r} już jest")
        spec = CommentedMap()
        if title:
            spec["title"] = title
        spec["verb"] = verb
        if params:
            spec["params"] = _flow_map(
                {k: _flow_list(v) if isinstance(v, list) else v for k, v in params.items()}
            )
        if on:
            spec["on"] = _flow_map(on)
        keys = list(self.states)
        position = keys.index(after) + 1 if after in keys else len(keys)
        self.states.insert(position, name, spec)
        return name

    # --- the side panel ---------------------------------------------------------

    def set_title(self, state: str, title: str) -> None:
        spec = self.state(state)
        title = " ".join(title.split())
        if not title:
            spec.pop("title", None)
        elif "title" in spec:
            spec["title"] = title
        else:
            spec.insert(0, "title", title)

    def set_params(self, state: str, values: Mapping[str, Any]) -> None:
        """Set the params given (None removes one: its default applies)."""
        spec = self.state(state)
        params = spec.get("params")
        if not isinstance(params, CommentedMap):
            params = spec["params"] = _flow_map({})
        for key, value in values.items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = _flow_list(value) if isinstance(value, list) else value
        if not params:
            del spec["params"]

    def set_target(self, state: str, event: str, target: str) -> list[str]:
        """``event`` of ``state`` goes to ``target`` (a state: the checker
        says so when it is not); the states only the old way reached go
        (returned: a draft keeps them, and a revert brings them back)."""
        before = self.reachable()
        self.on(state)[_event(event)] = target
        return self._drop_unreached(before)

    def _drop_unreached(self, before: set[str]) -> list[str]:
        gone = sorted(before - self.reachable())
        for name in gone:
            del self.states[name]
        return gone

    def remove_event(self, state: str, event: str) -> None:
        on = self.on(state)
        if event not in on:
            raise EditError(f"stan {state!r} nie ma przejścia {event!r}")
        del on[event]

    # --- typical edits ----------------------------------------------------------

    def add_menu_option(self, menu: str, key: str, title: str, prompt: str) -> str:
        """Key ``key`` of menu ``menu`` plays ``prompt`` in a new say state,
        then the menu again. Returns the new state's name."""
        self.check_free_key(menu, key)
        name = self.add_state(
            menu, "say", {"prompt": [prompt]}, {"done": menu}, title=title,
            name=self.new_name(title or prompt),
        )  # fmt: skip
        self.on(menu)[_event(key)] = name
        return name

    def change_key(self, menu: str, old: str, new: str) -> None:
        """The option on key ``old`` moves to key ``new`` (the same place in ``on``)."""
        on = self.on(menu)
        if old not in on:
            raise EditError(f"w menu nie ma klawisza {old}")
        if old == new:
            return
        self.check_free_key(menu, new)
        position = list(on).index(old)
        target = on.pop(old)
        on.insert(position, _event(new), target)

    def remove_option(self, menu: str, key: str) -> list[str]:
        """Key ``key`` of ``menu`` goes, with the states only it reached
        (returned): no state is left that no path reaches."""
        before = self.reachable()
        self.remove_event(menu, key)
        return self._drop_unreached(before)

    def insert_say(self, state: str, event: str, prompt: str, title: str = "") -> str:
        """A say state playing ``prompt`` between ``state``'s ``event`` and
        where it went. Returns the new state's name."""
        on = self.on(state)
        if event not in on:
            raise EditError(f"stan {state!r} nie ma przejścia {event!r}")
        name = self.add_state(
            state, "say", {"prompt": [prompt]}, {"done": str(on[event])}, title=title,
            name=self.new_name(title or prompt),
        )  # fmt: skip
        on[event] = name
        return name

    def to_consultant(self, state: str, event: str, queue: str | None = None) -> str:
        """``event`` of ``state`` hands the caller to a consultant (``queue``,
        else the bank's own): an existing transfer state doing just that, else
        a new one ending in the goodbye. Returns the transfer state."""
        used = Counter(t for spec in self.states.values() for t in targets(spec))
        same = [
            str(name)
            for name, spec in self.states.items()
            if spec.get("verb") == "transfer" and (spec.get("params") or {}).get("queue") == queue
        ]
        if same:  # the one most states already send callers to
            name = max(same, key=lambda n: used[n])
            self.set_target(state, event, name)
            return name
        goodbye = self._goodbye()
        name = self.add_state(
            state, "transfer", {"queue": queue} if queue else None,
            {"failed": goodbye} if goodbye else None,
            title=f"Konsultant ({queue})" if queue else "Połączenie z konsultantem",
        )  # fmt: skip
        self.set_target(state, event, name)
        return name

    def to_webhook(self, state: str, event: str) -> str:
        """``event`` of ``state`` asks the bank's webservice: a new webhook
        state calling the one this flow already calls (a version may call no
        other: the checker's rule), back to ``state`` when it is done or
        fails. Returns the new state."""
        known = next((spec for spec in self.states.values() if spec.get("verb") == "webhook"), None)
        if known is None or not isinstance(known.get("params"), Mapping):
            raise EditError(
                "ten przebieg nie woła serwisu banku: adres serwisu dopisuje operator w pliku "
                "przebiegu"
            )
        params = {k: known["params"][k] for k in ("url", "secret_env") if k in known["params"]}
        name = self.add_state(
            state, "webhook", params, {"done": state, "failed": state},
            title="Serwis banku (webhook)",
        )  # fmt: skip
        self.set_target(state, event, name)
        return name

    def check_free_key(self, menu: str, key: str) -> None:
        """EditError unless ``key`` is a key that menu ``menu`` does not use yet."""
        if not KEY.match(key):
            raise EditError(f"{key!r} nie jest klawiszem (0-9, * lub #)")
        if key in self.on(menu):
            raise EditError(f"klawisz {key} już coś robi w tym menu")
        params = self.state(menu).get("params") or {}
        if key in [str(k) for k in params.get("repeat", ["9", "*"])]:
            raise EditError(f"klawisz {key} powtarza menu: najpierw zmień klawisze powtórzenia")

    def _goodbye(self) -> str:
        """The state most states end in with a hang-up ('' when there is none)."""
        used = Counter(t for spec in self.states.values() for t in targets(spec))
        ends = [str(n) for n, spec in self.states.items() if spec.get("verb") == "hangup"]
        return max(ends, key=lambda n: used[n]) if ends else ""
