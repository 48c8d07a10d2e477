"""The exception tree drawn in ``stasis_app/errors.py`` is the code's: every
exception class ``stasis_app`` defines is drawn under its real parent, or
named as outside the tree on purpose, and every one drawn exists."""

import importlib
import inspect
import pkgutil
import re

import pytest

import devtools
import stasis_app
from stasis_app import errors
from stasis_app.errors import InfoliniaError

pytestmark = pytest.mark.unit

DOC = errors.__doc__ or ""
TREE_LINE = re.compile(r"^    ([ │├└─]*)(\w+)\b")


def _defined_exceptions() -> dict[str, type[BaseException]]:
    """Every exception class a module of stasis_app (or of the developer tools,
    which raise stasis_app's errors) defines, by name."""
    found: dict[str, type[BaseException]] = {}
    modules = [
        *pkgutil.walk_packages(stasis_app.__path__, "stasis_app."),
        *pkgutil.walk_packages(devtools.__path__, "devtools."),
    ]
    for module in modules:
        if module.name.endswith("__main__"):
            continue  # runs the command line
        loaded = importlib.import_module(module.name)
        for name, value in vars(loaded).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == loaded.__name__
            ):
                assert name not in found, f"two exceptions named {name}"
                found[name] = value
    return found


def _drawn() -> dict[str, str | None]:
    """The drawn tree: each class name -> the name drawn as its parent."""
    block = DOC.split("::\n\n", 1)[1].split("\n\n", 1)[0]
    parents: dict[str, str | None] = {}
    path: list[tuple[int, str]] = []  # (column, name) from the root down
    for line in block.splitlines():
        match = TREE_LINE.match(line)
        assert match, f"not a line of the tree: {line!r}"
        column, name = len(match.group(1)), match.group(2)
        while path and path[-1][0] >= column:
            path.pop()
        parents[name] = path[-1][1] if path else None
        path.append((column, name))
    return parents


def test_every_drawn_class_has_the_drawn_parent() -> None:
    defined = _defined_exceptions()
    drawn = _drawn()
    assert drawn["InfoliniaError"] is None
    for name, parent in drawn.items():
        assert name in defined, f"{name} is drawn in errors.py but no module defines it"
        if parent is not None:
            assert defined[parent] in defined[name].__bases__, f"{name} is not a {parent}"


def test_every_exception_of_stasis_app_is_in_the_tree_or_named_outside() -> None:
    drawn = _drawn()
    outside = DOC.split("Outside the tree", 1)[1]
    for name, cls in _defined_exceptions().items():
        if issubclass(cls, InfoliniaError):
            assert name in drawn, f"{cls.__module__}.{name} is an InfoliniaError not drawn"
        else:
            assert name not in drawn
            assert f"``{name}``" in outside, (
                f"{cls.__module__}.{name} bypasses InfoliniaError without being named "
                "in errors.py as outside the tree"
            )
