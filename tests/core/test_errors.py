"""The error tree drawn in core/errors.py's docstring is the real one, and is complete."""

from __future__ import annotations

import inspect
import re

from moviemind_lite.core import errors


def drawn_tree() -> dict[str, str]:
    """Each class in the docstring's tree, mapped to the class drawn as its parent."""
    parents: dict[str, str] = {}
    stack: list[str] = []
    assert errors.__doc__ is not None
    for line in errors.__doc__.splitlines():
        match = re.match(r"^ {4}((?:│   |    )*)(?:├── |└── )?([A-Z]\w+)", line)
        if match is None:
            continue
        depth = len(match.group(1)) // 4 + (1 if "── " in line else 0)
        del stack[depth:]
        if stack:
            parents[match.group(2)] = stack[-1]
        stack.append(match.group(2))
    return parents


def test_every_error_is_drawn_under_its_real_parent() -> None:
    drawn = drawn_tree()
    defined = {
        name: cls
        for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.MovieMindError) and cls is not errors.MovieMindError
    }
    assert set(drawn) == set(defined)
    for name, parent in drawn.items():
        assert defined[name].__bases__ == (getattr(errors, parent),), name


def test_every_error_has_a_one_line_docstring() -> None:
    for _, cls in inspect.getmembers(errors, inspect.isclass):
        if issubclass(cls, errors.MovieMindError):
            assert cls.__doc__ and cls.__doc__.splitlines()[0].strip(), cls.__name__
