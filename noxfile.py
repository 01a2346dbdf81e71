"""Developer tasks: ``nox -s tests lint typecheck docs examples release-check bench``."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck", "docs", "examples", "release-check"]
nox.options.default_venv_backend = "venv"

PYTHON = ["3.11", "3.12", "3.13"]


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The whole suite on asyncio and trio (every behaviour test runs on both)."""
    session.install("-e", ".[test]")
    session.run("pytest", "--durations=10", *session.posargs, env={"HYPOTHESIS_PROFILE": "ci"})


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict and pyright (strict) on the package, the typing tests and the examples
    (with no stream typed Any), then pyright
    --verifytypes: the installed package's public API must be 100 % typed."""
    # Not editable: pyright cannot follow setuptools' editable import hook, so --verifytypes
    # would find no py.typed.
    session.install(".[dev]")
    python = session.virtualenv.bin + "/python"
    session.run("mypy", "--strict", "streamkit", "tests/typing", "examples")
    session.run("pyright", "--pythonpath", python, "streamkit", "tests/typing", "examples")
    # mypy --strict accepts an inferred Stream[Any]: fail on one in the corpus or the examples.
    session.run("python", "tools/check_no_any.py", "tests/typing", "examples")
    with session.chdir(session.create_tmp()):  # outside the checkout: the installed copy
        session.run(
            "pyright", "--pythonpath", python, "--verifytypes", "streamkit", "--ignoreexternal"
        )


@nox.session
def docs(session: nox.Session) -> None:
    """Build the docs with warnings as errors and nitpicky references."""
    session.install("-e", ".[docs]")
    session.run(
        "sphinx-build", "-W", "-n", "--keep-going", "-b", "html", "docs", "docs/_build/html"
    )


@nox.session
def examples(session: nox.Session) -> None:
    """Run every example script."""
    session.install("-e", ".[test]")
    session.run("pytest", "-p", "no:cacheprovider", "tests/test_examples.py", external=False)


@nox.session(name="release-check")
def release_check(session: nox.Session) -> None:
    """Build the sdist and wheel, twine check them, install the wheel with its extras in a fresh
    virtualenv and run examples/quickstart.py from outside the checkout (tools/release_check.py,
    which CI runs too)."""
    session.install("build", "twine")
    session.run("python", "tools/release_check.py")


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmark suite against its baselines and peers; writes benchmarks/results.md."""
    session.install("-e", ".", "aiostream", "asyncstdlib")
    session.run("python", "benchmarks/run.py", *session.posargs)


@nox.session(name="bench-offload")
def bench_offload(session: nox.Session) -> None:
    """Scale-out: chunked offload and offload() on dask and Ray; writes benchmarks/scale.md."""
    session.install("-e", ".[dask,ray]")
    session.run("python", "benchmarks/scale.py", *session.posargs)
