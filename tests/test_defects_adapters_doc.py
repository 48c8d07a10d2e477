"""The ``adapters`` package's docstring tells the truth: every module it
holds is named there, and what it says the package never imports, it never
imports."""

import ast
import pkgutil
from pathlib import Path

import pytest

import adapters

pytestmark = pytest.mark.unit

ROOT = Path(adapters.__file__).parent


def test_every_module_of_adapters_is_named_in_its_docstring() -> None:
    doc = adapters.__doc__ or ""
    assert "Empty in the foundation" not in doc
    for module in pkgutil.iter_modules(adapters.__path__, "adapters."):
        assert f":mod:`{module.name}`" in doc, f"{module.name} is not in adapters' docstring"


def test_adapters_import_neither_stasis_app_nor_voice() -> None:
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                top = name.split(".")[0]
                assert top not in ("stasis_app", "voice"), f"{path} imports {name}"
