"""A flow as a picture: Mermaid text (for docs and web pages) and an SVG
drawn by Graphviz from the same graph (for people without a Mermaid viewer).

Each box is a state: its name, its verb and the first prompt it plays; each
arrow is a transition, labelled with its event (menu keys as "key 1").
"""

import shutil
import subprocess
from pathlib import Path

from stasis_app.flow.model import Flow, State

TERMINAL_STYLE = "fill:#fde2e2,stroke:#b33"
START_STYLE = "fill:#e2f0fd,stroke:#36c"


def _label(state: State) -> str:
    return f"{state.name}\\n{state.verb.label(state.params)}"


def _event(event: str) -> str:
    return f"key {event}" if len(event) == 1 else event


def to_mermaid(flow: Flow) -> str:
    """Mermaid ``flowchart`` text of the flow."""
    lines = ["flowchart TD"]
    for state in flow.states.values():
        label = _label(state).replace("\\n", "<br/>")
        lines.append(f'    {state.name}["{label}"]')
    for state in flow.states.values():
        for event, target in state.on.items():
            lines.append(f"    {state.name} -->|{_event(event)}| {target}")
    lines.append(f"    style {flow.initial} {START_STYLE}")
    for state in flow.states.values():
        if state.verb.terminal:
            lines.append(f"    style {state.name} {TERMINAL_STYLE}")
    return "\n".join(lines) + "\n"


def to_dot(flow: Flow) -> str:
    """Graphviz DOT text of the same graph."""
    lines = [
        "digraph flow {",
        '  graph [rankdir=TB, fontname="DejaVu Sans"];',
        '  node [shape=box, style="rounded,filled", fillcolor="#f5f5f5", fontname="DejaVu Sans"];',
        '  edge [fontname="DejaVu Sans", fontsize=10];',
    ]
    for state in flow.states.values():
        color = "#e2f0fd" if state.name == flow.initial else "#f5f5f5"
        if state.verb.terminal:
            color = "#fde2e2"
        lines.append(f'  {state.name} [label="{_label(state)}", fillcolor="{color}"];')
    for state in flow.states.values():
        for event, target in state.on.items():
            lines.append(f'  {state.name} -> {target} [label="{_event(event)}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_svg(dot: str, out: Path) -> None:
    """Draw DOT text into an SVG file with Graphviz's ``dot``."""
    binary = shutil.which("dot")
    if binary is None:
        raise FileNotFoundError("Graphviz is not installed (Debian package graphviz)")
    subprocess.run([binary, "-Tsvg", "-o", str(out)], input=dot.encode(), check=True)
