"""The house's layers, checked against the code and drawn.

Each layer may import its own and lower layers' packages, never a higher
one; only the ARI gateway may import aioari (and its aioswagger11). Imports
under ``if TYPE_CHECKING:`` are annotations, not dependencies, and are not
counted; imports inside functions are. ``tests/test_architecture.py`` fails
on a violation and when the committed picture (``docs/architecture/``) is
no longer what the code draws.

    python -m devtools.architecture [--out docs/architecture] [--check]
"""

import argparse
import ast
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("plugin", "adapters", "voice", "stasis_app", "devtools")

# Lowest first. A group is a package or a module; a module belongs to the
# longest group that is a prefix of its name.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("plugin core", ("plugin",)),
    ("adapters and voice", ("adapters", "voice")),
    (
        "foundation",
        (
            "stasis_app",
            "stasis_app.errors",
            "stasis_app.logs",
            "stasis_app.config",
            "stasis_app.tenants",
        ),
    ),
    ("store", ("stasis_app.store",)),
    ("telephony", ("stasis_app.telephony",)),
    ("safeguards", ("stasis_app.safeguards",)),
    ("reports", ("stasis_app.reports",)),
    ("call logic", ("stasis_app.flow", "stasis_app.verbs", "stasis_app.queue")),
    ("wiring", ("stasis_app.deployment", "stasis_app.metrics", "stasis_app.tenancy")),
    ("admin", ("stasis_app.admin",)),
    ("app", ("stasis_app.app",)),
    ("command line and developer tools", ("stasis_app.cli", "stasis_app.__main__", "devtools")),
)
ARI_LIBRARIES = ("aioari", "aioswagger11")
ARI_USERS = ("stasis_app.telephony.gateway", "stasis_app.telephony.ari_http")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module
    line: int


def module_name(path: Path, root: Path = REPO) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", "")
            if name == "TYPE_CHECKING":
                for child in node.body:
                    lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports(root: Path = REPO) -> Iterator[Import]:
    """Every import of our packages' modules (TYPE_CHECKING blocks left out)."""
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            skip = _type_checking_lines(tree)
            source = module_name(path, root)
            for node in ast.walk(tree):
                if getattr(node, "lineno", 0) in skip:
                    continue
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    yield Import(source, node.module, node.lineno)
                    for alias in node.names:  # "from stasis_app import audit"
                        yield Import(source, f"{node.module}.{alias.name}", node.lineno)
                elif isinstance(node, ast.Import):
                    for alias in node.names:
                        yield Import(source, alias.name, node.lineno)


def layer_of(module: str) -> int | None:
    """The layer index of the longest group that ``module`` is in (None: not ours)."""
    best: tuple[int, int] | None = None
    for index, (_, groups) in enumerate(LAYERS):
        for group in groups:
            inside = module == group or module.startswith(group + ".")
            if inside and (best is None or len(group) > best[1]):
                best = (index, len(group))
    return None if best is None else best[0]


def group_of(module: str) -> str | None:
    found = [g for _, groups in LAYERS for g in groups if module == g or module.startswith(g + ".")]
    return max(found, key=len) if found else None


def violations(found: Iterable[Import]) -> list[str]:
    """What breaks the layers, as ``file:line: why`` lines."""
    problems: list[str] = []
    for imp in found:
        top = imp.target.split(".")[0]
        if top in ARI_LIBRARIES and imp.source not in ARI_USERS:
            problems.append(f"{imp.source}:{imp.line}: imports {imp.target}: only the gateway may")
            continue
        source, target = layer_of(imp.source), layer_of(imp.target)
        if source is None or target is None or target <= source:
            continue
        problems.append(
            f"{imp.source}:{imp.line}: imports {imp.target}: {LAYERS[source][0]} may not "
            f"import {LAYERS[target][0]} (a higher layer)"
        )
    return problems


def edges(found: Iterable[Import]) -> set[tuple[str, str]]:
    """Group-to-group dependencies the code has."""
    pairs: set[tuple[str, str]] = set()
    for imp in found:
        a, b = group_of(imp.source), group_of(imp.target)
        if a and b and a != b:
            pairs.add((a, b))
    return pairs


def to_dot(found: Iterable[Import]) -> str:
    """The layers as boxes, lowest at the bottom, and the imports between groups."""
    lines = [
        "// Generated by python -m devtools.architecture: do not edit.",
        "digraph infolinia {",
        '  rankdir=BT; node [shape=box, fontname="sans-serif", fontsize=10];',
        '  edge [color="#777777", arrowsize=0.6]; compound=true; newrank=true;',
    ]
    for index, (name, groups) in enumerate(LAYERS):
        lines.append(f'  subgraph cluster_{index} {{ label="{index}. {name}"; fontsize=11;')
        lines.append('    style="rounded,filled"; fillcolor="#f4f4f4"; color="#bbbbbb";')
        for group in groups:
            lines.append(f'    "{group}";')
        lines.append("  }")
    for a, b in sorted(edges(found)):
        lines.append(f'  "{a}" -> "{b}";')
    lines.append("}")
    return "\n".join(lines) + "\n"


def write(out: Path) -> None:
    """docs/architecture/packages.dot and its SVG (graphviz's dot)."""
    out.mkdir(parents=True, exist_ok=True)
    dot = to_dot(imports())
    (out / "packages.dot").write_text(dot, encoding="utf-8")
    svg = subprocess.run(
        ["dot", "-Tsvg"], input=dot, capture_output=True, text=True, check=True
    ).stdout
    (out / "packages.svg").write_text(svg, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.architecture",
        description="Check that no package imports a higher layer (and only the gateway "
        "imports aioari), and draw the layers with their imports.",
    )
    parser.add_argument("--out", type=Path, help="write packages.dot and packages.svg here")
    parser.add_argument("--check", action="store_true", help="exit 1 on a violation")
    args = parser.parse_args(argv)
    problems = violations(imports())
    for problem in problems:
        print(problem, file=sys.stderr)
    if args.out is not None:
        write(args.out)
        print(f"wrote {args.out / 'packages.dot'} and packages.svg")
    return 1 if problems and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
