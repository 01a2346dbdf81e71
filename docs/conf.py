"""Sphinx configuration for the streamkit docs.

Build: ``sphinx-build -W -n --keep-going -b html docs docs/_build/html`` (or ``nox -s docs``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.pycode import ModuleAnalyzer
from sphinx.util import logging

import streamkit
import streamkit.testing

project = "streamkit"
author = "The streamkit developers"
version = release = streamkit.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.napoleon",
    "sphinxcontrib_trio",
    # Only to include benchmarks/results.md as written by the benchmark (docs/benchmarks.rst);
    # the pages themselves stay reST.
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext"}
# results.md's sections start at "##" (its "#" title is skipped); included under a section of
# benchmarks.rst they nest correctly, but myst still warns that the headings start at H2.
suppress_warnings = ["myst.header"]

exclude_patterns = ["_build", "_inventories"]
nitpicky = True
nitpick_ignore_regex = [
    # Type variables have no page of their own (trio's conf.py ignores its own the same way).
    # They appear qualified, or bare where autodoc falls back to the annotation's source text.
    ("py:class", r"(streamkit\._types\.)?(T|U|V|R|T\d|T_contra|U_co)"),
    # The private alias `Iterable[T] | AsyncIterable[T]`. It is a string at runtime, so
    # typing.get_type_hints() cannot evaluate signatures that subscript it (open_pipeline,
    # flatten, stream.merge/chain/zip) and autodoc shows their annotations as written.
    ("py:class", r"AnyIterable"),
    # executor= (ExecutorOption): autodoc evaluates it and names Executor by its defining
    # module, which intersphinx does not know; the docstrings link concurrent.futures.Executor.
    ("py:class", r"concurrent\.futures\._base\.Executor"),
    # RayExecutor.submit returns Future[R]: the same two cases.
    ("py:class", r"concurrent\.futures\._base\.Future"),
    ("py:class", r"streamkit\.ray\._executor\.R"),
]

# -- autodoc / napoleon ----------------------------------------------------------------------

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
python_use_unqualified_type_names = True

# -- intersphinx -----------------------------------------------------------------------------
# Each project is tried online first. Where the network is out of reach (CI sandboxes, a
# laptop on a train) the build falls back to the small plain-text inventories in _inventories/
# (Sphinx inventory format version 1), so `-W -n` passes offline too:
#   python.txt  the py-domain entries of CPython 3.11's objects.inv for the modules we touch
#   anyio.txt   names documented on anyio's api.html (anyio's docs/api.rst)
#   trio.txt    the few trio names these docs refer to
# Add an entry there when a new cross-reference to these projects fails only offline.

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", (None, "_inventories/python.txt")),
    "anyio": ("https://anyio.readthedocs.io/en/stable", (None, "_inventories/anyio.txt")),
    "trio": ("https://trio.readthedocs.io/en/stable", (None, "_inventories/trio.txt")),
}
intersphinx_timeout = 10

# -- HTML ------------------------------------------------------------------------------------

html_theme = "furo"
html_title = f"streamkit {release}"
html_static_path: list[str] = []


# -- attribute docstrings of re-exported classes ------------------------------------------
# streamkit/__init__.py sets each public object's __module__ to "streamkit" (STYLE 8.2), so
# autodoc looks for attribute docstrings (dataclass fields, `self.x = ...` in __init__, the
# `stream` instance) in streamkit/__init__.py and finds none. Hand it the ones written in the
# private module that defines each public name.


def _merge_attribute_docs(public: str) -> None:
    merged = ModuleAnalyzer.for_module(public)
    merged.analyze()
    private = [
        module for name, module in sorted(sys.modules.items()) if name.startswith(f"{public}._")
    ]
    for name in sys.modules[public].__all__:
        obj = getattr(sys.modules[public], name)
        for module in private:
            if vars(module).get(name) is not obj:
                continue
            analyzer = ModuleAnalyzer.for_module(module.__name__)
            analyzer.analyze()
            for (namespace, attr), lines in analyzer.attr_docs.items():
                if namespace == name or (namespace == "" and attr == name):
                    merged.attr_docs.setdefault((namespace, attr), lines)
            for key, order in analyzer.tagorder.items():
                if key == name or key.startswith(f"{name}."):
                    merged.tagorder.setdefault(key, order)


_merge_attribute_docs(streamkit.__name__)
_merge_attribute_docs(streamkit.testing.__name__)


# -- every public name is documented ---------------------------------------------------------


def _check_public_names_documented(app: Sphinx, env: BuildEnvironment) -> None:
    documented = {name for name, *_ in env.domains["py"].get_objects()}
    for module in (streamkit, streamkit.testing):
        for name in module.__all__:
            if f"{module.__name__}.{name}" not in documented:
                logging.getLogger(__name__).warning(
                    "%s.%s is in __all__ but has no entry in docs/api.rst",
                    module.__name__,
                    name,
                )


# -- every example is listed ------------------------------------------------------------------


def _check_examples_listed(app: Sphinx, env: BuildEnvironment) -> None:
    docs = Path(app.srcdir)
    page = (docs / "examples.rst").read_text(encoding="utf-8")
    for example in sorted((docs.parent / "examples").iterdir()):
        if example.is_file() and f"``examples/{example.name}``" not in page:
            logging.getLogger(__name__).warning(
                "examples/%s has no entry in docs/examples.rst", example.name
            )


def setup(app: Sphinx) -> None:
    app.connect("env-check-consistency", _check_public_names_documented)
    app.connect("env-check-consistency", _check_examples_listed)
