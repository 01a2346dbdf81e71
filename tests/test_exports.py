"""The public surface: __all__ matches what is public, and names show as streamkit.x."""

from __future__ import annotations

import ast
import inspect
import pathlib

import pytest

import streamkit
import streamkit.testing

PACKAGE = pathlib.Path(streamkit.__file__).parent


@pytest.mark.parametrize("module", [streamkit, streamkit.testing])
def test_all_is_a_tuple_of_the_public_names(module: object) -> None:
    exported = module.__all__  # type: ignore[attr-defined]
    assert isinstance(exported, tuple)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert set(exported) == public


@pytest.mark.parametrize("module", [streamkit, streamkit.testing])
def test_public_names_show_the_public_module(module: object) -> None:
    for name in module.__all__:  # type: ignore[attr-defined]
        value = getattr(module, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert value.__module__ == module.__name__, name  # type: ignore[attr-defined]


def test_runtime_never_imports_operators_or_streams() -> None:
    """Dependency direction: _runtime is below _operator, _ops, _stream and _factory."""
    for path in (PACKAGE / "_runtime").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.lstrip(".").startswith((
                    "_ops",
                    "_stream",
                    "_factory",
                    "_operator",
                )), f"{path.name} imports {node.module}"


def test_py_typed_is_shipped() -> None:
    assert (PACKAGE / "py.typed").exists()
