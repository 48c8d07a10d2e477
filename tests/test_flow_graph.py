"""The flow diagram: Mermaid text and an SVG from Graphviz."""

from pathlib import Path

import pytest

from stasis_app.cli import main
from stasis_app.config import load_settings
from stasis_app.deployment import tenant_texts
from stasis_app.flow.graph import to_dot, to_mermaid
from stasis_app.flow.model import load_flow
from stasis_app.verbs.registry import VerbRegistry

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parent.parent
SETTINGS = load_settings(REPO / "config" / "infolinia.yaml", resolve_secrets=False, env={})
FLOW = load_flow(
    REPO / "config" / "flows" / "bank.yaml", VerbRegistry(), tenant_texts(SETTINGS, None)
)


def test_mermaid_has_every_state_and_transition() -> None:
    text = to_mermaid(FLOW)
    assert text.startswith("flowchart TD\n")
    for state in FLOW.states.values():
        assert f"    {state.name}[" in text
        for event, target in state.on.items():
            label = f"key {event}" if len(event) == 1 else event
            assert f"    {state.name} -->|{label}| {target}" in text


def test_dot_matches_the_mermaid_graph() -> None:
    dot = to_dot(FLOW)
    edges = sum(len(state.on) for state in FLOW.states.values())
    assert dot.count(" -> ") == edges
    assert to_mermaid(FLOW).count(" -->|") == edges


def test_graph_command_writes_mermaid_and_svg(tmp_path: Path) -> None:
    config = str(REPO / "config" / "infolinia.yaml")
    assert main(["--config", config, "flow", "graph", "izbica", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "izbica-flow.mmd").read_text() == to_mermaid(FLOW)
    svg = (tmp_path / "izbica-flow.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "card_block" in svg


def test_committed_picture_is_the_current_flow() -> None:
    assert (REPO / "docs" / "flows" / "bank-flow.mmd").read_text() == to_mermaid(FLOW)
