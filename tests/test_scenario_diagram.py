"""The Scenariusz page's diagram (stasis_app/admin/web/scenario_diagram.py),
drawn by the real Graphviz: each state a clickable box named in the bank's
words, the common ways out folded into the box, a state no path reaches and
a dead end marked, even on a draft the checker refused."""

import shutil
from pathlib import Path

import pytest

from stasis_app.admin.web.flow import inline_svg
from stasis_app.admin.web.scenario_diagram import marks, to_dot
from stasis_app.flow.editing import FlowDocument
from stasis_app.verbs.registry import VerbRegistry

pytestmark = pytest.mark.unit

BANK = Path("config/flows/bank.yaml").read_text(encoding="utf-8")
TEXTS = {"ask_customer_number": "Podaj ośmiocyfrowy numer klienta."}


def test_a_draft_with_an_orphan_and_a_dead_end_is_drawn_with_both_marked() -> None:
    doc = FlowDocument(BANK)
    doc.remove_event("main_menu", "failed")  # a menu nobody answers: stuck
    doc.add_state("goodbye", "say", {"prompt": ["goodbye"]}, {"done": "goodbye"}, title="Sierota")
    found = marks(doc.states, doc.initial, VerbRegistry(), TEXTS)
    assert found["main_menu"].dead_ends == ["failed"]
    assert found["sierota"].unreachable and not found["main_menu"].unreachable
    # "0 -> consultant" is one of many ways to the consultant: folded into the box.
    assert ("0", "consultant") in found["main_menu"].folded
    assert ("1", "block_number") not in found["main_menu"].folded
    assert found["block_number"].title == "Podaj numer klienta"
    if shutil.which("dot") is None:
        pytest.skip("Graphviz is not installed (Debian package graphviz)")
    svg = inline_svg(to_dot(doc.states, doc.initial, found, "main_menu"))
    assert 'id="node&#45;main_menu"' in svg and 'xlink:href="?state=main_menu"' in svg
    assert "nieosiągalny" in svg and "ślepy zaułek" in svg
    assert "↪ klawisz 0: Połączenie z konsultantem" in svg
    assert "main_menu&#45;&gt;consultant" not in svg  # the folded arrow is not drawn


def test_any_state_name_is_drawn_safely() -> None:
    doc = FlowDocument(
        'initial: a\nstates:\n  a: {verb: say, params: {prompt: [x]}, on: {done: "b\\"<c>"}}\n'
        '  "b\\"<c>": {verb: hangup}\n'
    )
    found = marks(doc.states, doc.initial, VerbRegistry(), {})
    if shutil.which("dot") is None:
        pytest.skip("Graphviz is not installed (Debian package graphviz)")
    svg = inline_svg(to_dot(doc.states, doc.initial, found, ""))
    assert "b&quot;&lt;c&gt;" in svg and "<c>" not in svg
