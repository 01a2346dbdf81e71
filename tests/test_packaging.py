"""The distribution: its name, its single-sourced version, and the install hints it prints."""

from __future__ import annotations

import importlib.metadata
import pathlib
import re
import tomllib

import streamkit

ROOT = pathlib.Path(__file__).resolve().parent.parent
DISTRIBUTION = "streamkit-anyio"


def test_version_is_the_installed_metadata_version() -> None:
    """streamkit/_version.py is the one place the version is written; the metadata reads it."""
    assert streamkit.__version__ == importlib.metadata.version(DISTRIBUTION)


def test_pyproject_reads_the_version_from_the_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["name"] == DISTRIBUTION
    assert project["project"]["dynamic"] == ["version"]
    assert "version" not in project["project"]
    dynamic = project["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "streamkit._version.__version__"}


def test_self_referencing_extras_use_the_distribution_name() -> None:
    """An extra that pulls in other extras names this distribution, not PyPI's `streamkit`."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for requirements in extras.values():
        for requirement in requirements:
            assert not re.match(r"streamkit\b(?!-anyio)", requirement), requirement


def test_no_install_command_names_the_other_project() -> None:
    """`pip install streamkit` (with or without extras) installs an unrelated project."""
    wrong = re.compile(r"""pip install (-e )?["'`]?streamkit(\[|["'`\s]|$)""")
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.rst"))]
    files += sorted((ROOT / "streamkit").rglob("*.py"))
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line}"
        for path in files
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if wrong.search(line)
        # The README and the docs name the wrong command to warn about it.
        and "installs a different" not in line
    ]
    assert offenders == []


def test_the_installation_page_warns_about_the_other_project() -> None:
    page = (ROOT / "docs" / "install.rst").read_text()
    assert "pip install streamkit-anyio" in page
    assert "``pip install streamkit`` installs a different project" in page
