"""Fail if mypy gives any streamkit type in the given files an ``Any`` element type.

``mypy --strict`` accepts an inferred ``Stream[Any]`` silently (pyright strict reports the same
thing as Unknown). This runs mypy with ``--disallow-any-expr`` and keeps only its reports, in the
files checked, of an expression whose type is a streamkit stream, pipeline or pipe with ``Any``
in it. Operators are left out: mypy's first inference pass over ``.pipe(a, b)`` types the
operator ``b`` as ``StreamOperator[Never, Any]`` even when the stream it makes is fully typed.
``Any`` that comes from elsewhere (``re.findall``, argparse) is not our concern.

    python tools/check_no_any.py examples tests/typing [mypy options...]
"""

from __future__ import annotations

import re
import subprocess
import sys

STREAMKIT_TYPE_WITH_ANY = re.compile(
    r'has type "[^"]*\b(Stream|Pipeline|Pipe|PushSource)\[[^"]*\bAny\b'
)


def main(arguments: list[str]) -> int:
    paths = [argument for argument in arguments if not argument.startswith("-")]
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--disallow-any-expr", *arguments],
        capture_output=True,
        text=True,
        check=False,
    )
    found = [
        line
        for line in result.stdout.splitlines()
        if line.startswith(tuple(paths)) and STREAMKIT_TYPE_WITH_ANY.search(line)
    ]
    for line in found:
        print(line)
    print(f"{len(found)} streamkit types with Any in {' '.join(paths)}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
