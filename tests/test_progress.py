"""Progress bars: the progress() operator and progress=True (one bar per stage), with tqdm."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from hypothesis import given

from streamkit import filter_, map_, progress, stream, take
from streamkit.testing import TrackedSource
from tests.strategies import ASYNC_SETTINGS, ints

pytest.importorskip("tqdm")

pytestmark = pytest.mark.anyio


class TestProgress:
    @ASYNC_SETTINGS
    @given(xs=ints)
    async def test_passes_every_item_unchanged(self, xs: list[int]) -> None:
        async with stream(xs).pipe(progress("numbers")).open() as items:
            assert [x async for x in items] == xs
        (stage,) = items.statistics().stages
        assert stage.items_in == stage.items_out == len(xs)

    async def test_shows_a_bar(self, capsys: pytest.CaptureFixture[str]) -> None:
        await stream(range(7)).pipe(progress("numbers", total=7)).drain()
        err = capsys.readouterr().err
        assert "numbers: 100%" in err
        assert "7/7" in err

    async def test_early_exit(self, capsys: pytest.CaptureFixture[str]) -> None:
        source = TrackedSource.infinite()
        with anyio.fail_after(10):
            assert await stream(source).pipe(progress("endless"), take(3)).collect() == [0, 1, 2]
        source.assert_closed()
        assert "endless: 3" in capsys.readouterr().err

    async def test_errors_pass_through(self, capsys: pytest.CaptureFixture[str]) -> None:
        error = ValueError("bad")

        async def failing() -> AsyncIterator[int]:
            yield 1
            raise error

        with pytest.raises(ValueError) as caught:
            await stream(failing()).pipe(progress()).drain()
        assert caught.value is error
        assert "1 items" in capsys.readouterr().err

    def test_repr(self) -> None:
        assert repr(progress("rows", total=10)) == "progress('rows', total=10)"
        assert repr(progress()) == "progress()"

    @pytest.mark.parametrize(
        ("options", "error", "message"),
        [
            ({"desc": 3}, TypeError, "desc must be a str or None, got int"),
            ({"total": -1}, ValueError, "total must be an int >= 0, got -1"),
            ({"total": 1.5}, TypeError, "total must be an int >= 0, got float"),
        ],
    )
    def test_bad_options(
        self, options: dict[str, Any], error: type[Exception], message: str
    ) -> None:
        with pytest.raises(error, match=message):
            progress(**options)


class TestStageBars:
    async def test_one_bar_per_stage(self, capsys: pytest.CaptureFixture[str]) -> None:
        s = stream(range(10)).pipe(map_(str, concurrency=2), filter_(lambda x: x != "3"))
        assert len(await s.collect(progress=True)) == 9
        err = capsys.readouterr().err
        assert "map_(str, concurrency=2): 10 items" in err
        assert "filter_(<lambda>): 9 items" in err

    async def test_with_hooks_too(self, capsys: pytest.CaptureFixture[str]) -> None:
        from tests.test_observe import Recorder

        hooks = Recorder()
        async with stream([1]).pipe(map_(str)).open(hooks=hooks, progress=True) as items:
            assert [x async for x in items] == ["1"]
        assert ("item", "map_(str)", "1") in hooks.events
        assert "map_(str): 1 items" in capsys.readouterr().err


class TestWithoutTqdm:
    @pytest.fixture(autouse=True)
    def no_tqdm(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(sys.modules, "tqdm.auto", None)

    def test_operator(self) -> None:
        with pytest.raises(ImportError, match=r"pip install 'streamkit-anyio\[progress\]'"):
            progress()

    async def test_option(self) -> None:
        with pytest.raises(ImportError, match=r"pip install 'streamkit-anyio\[progress\]'"):
            await stream([1]).collect(progress=True)


def test_importing_streamkit_does_not_import_tqdm() -> None:
    code = "import sys, streamkit; assert not [m for m in sys.modules if 'tqdm' in m]"
    subprocess.run([sys.executable, "-c", code], check=True)
