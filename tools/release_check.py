"""Release check: build, check and install the distribution as a user would, outside the checkout.

Run ``python tools/release_check.py`` (or ``nox -s release-check``; CI runs it from ``.ci/run``).
It needs ``build`` and ``twine`` (the ``dev`` extra) in the running interpreter, and:

1. builds the sdist, and the wheel from that sdist (``python -m build``);
2. checks both with ``twine check --strict``, and that the wheel holds ``py.typed`` and nothing
   but the package, and the sdist no build or cache junk;
3. makes a fresh virtualenv, installs the wheel with its light extras (``[progress,dask]``), and
   from a directory outside the checkout runs ``examples/quickstart.py`` on asyncio and trio and
   checks its output, that ``streamkit`` comes from the virtualenv, that its version is the
   metadata's and that the extras import.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTION = "streamkit-anyio"
EXTRAS = "progress,dask"  # all but test, dev and docs, which are tooling
QUICKSTART_OUTPUT = [
    "pipeline: stream(range(0, 1000)) | map_(fetch, concurrency=10) | filter_(is_long)",
    "first 5 long pages: [2, 5, 7, 8, 10]",
    "batch of 2: pages [10, 11]",
    "done",
]
# In the sdist, under its top folder: nothing a build, an editor or a test run leaves behind.
SDIST_JUNK = ("__pycache__", ".pyc", ".venv", ".nox", "docs/_build", ".hypothesis", ".mypy_cache")
INSTALLED = f"""
import importlib.metadata, pathlib, sys
import streamkit, tqdm, distributed
assert pathlib.Path(streamkit.__file__).is_relative_to(sys.prefix), streamkit.__file__
assert streamkit.__version__ == importlib.metadata.version({DISTRIBUTION!r})
assert (pathlib.Path(streamkit.__file__).parent / "py.typed").is_file()
streamkit.progress("check")  # the progress extra is there: no ImportError
print(streamkit.__version__)
"""


def run(*command: str | Path, cwd: Path = ROOT) -> str:
    print("$", *command, flush=True)
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


def check_contents(sdist: Path, wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "streamkit/py.typed" in names, "the wheel has no py.typed"
    tops = {name.split("/")[0] for name in names}
    assert tops <= {"streamkit", f"{DISTRIBUTION.replace('-', '_')}-{version(wheel)}.dist-info"}, (
        f"the wheel holds more than the package: {sorted(tops)}"
    )
    with tarfile.open(sdist) as archive:
        members = [name.partition("/")[2] for name in archive.getnames()]
    assert "streamkit/py.typed" in members, "the sdist has no py.typed"
    for required in ("LICENSE", "README.md", "pyproject.toml", "examples/quickstart.py"):
        assert required in members, f"the sdist has no {required}"
    junk = [name for name in members if any(part in name for part in SDIST_JUNK)]
    assert not junk, f"junk in the sdist: {junk}"


def version(wheel: Path) -> str:
    return wheel.name.split("-")[1]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="streamkit-release-") as temporary:
        work = Path(temporary)
        dist = work / "dist"
        # With no --sdist/--wheel, build makes the sdist and then the wheel from it.
        run(sys.executable, "-m", "build", "--outdir", dist, ROOT)
        (sdist,) = dist.glob("*.tar.gz")
        (wheel,) = dist.glob("*.whl")
        run(sys.executable, "-m", "twine", "check", "--strict", sdist, wheel)
        check_contents(sdist, wheel)

        env = work / "venv"
        venv.create(env, with_pip=True)
        python = env / "bin" / "python"
        run(python, "-m", "pip", "install", "--quiet", f"{wheel}[{EXTRAS}]")
        outside = work / "user"
        outside.mkdir()
        script = outside / "quickstart.py"
        script.write_text((ROOT / "examples" / "quickstart.py").read_text())
        installed = run(python, "-I", "-c", INSTALLED, cwd=outside).strip()
        assert installed == version(wheel), (installed, wheel.name)
        for backend in ("asyncio", "trio"):
            output = run(python, "-I", script, "--backend", backend, cwd=outside)
            missing = [line for line in QUICKSTART_OUTPUT if line not in output]
            assert not missing, f"quickstart on {backend} did not print {missing}:\n{output}"
    print(f"release check passed: {sdist.name}, {wheel.name}")


if __name__ == "__main__":
    main()
