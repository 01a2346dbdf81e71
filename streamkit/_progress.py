"""Progress bars with tqdm (the extra ``streamkit-anyio[progress]``), imported only when used.

``tqdm.auto`` picks a widget in a notebook and a text bar in a terminal.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from ._hooks import Hooks
from ._operator import StreamOperator, labelled
from ._options import check_int
from ._runtime._closing import aclose
from ._runtime._stage import Stage
from ._types import SameTypeOperator

if TYPE_CHECKING:
    from tqdm.auto import tqdm as Bar

    from ._observe import PipelineStatistics


def _bar_class() -> type[Bar[Any]]:
    try:
        from tqdm.auto import tqdm
    except ImportError as exc:
        raise ImportError(
            "progress bars need tqdm: install the extra with "
            "pip install 'streamkit-anyio[progress]' (or pip install tqdm)"
        ) from exc
    return tqdm


@labelled
def progress(desc: str | None = None, total: int | None = None) -> SameTypeOperator:
    """Show a progress bar counting the items that pass, and pass them on unchanged.

    The bar is a ``tqdm.auto`` bar: a widget in a notebook, text on stderr in a terminal. It
    needs the extra ``streamkit-anyio[progress]``.

    Args:
        desc: the text before the bar.
        total: how many items to expect, if known (the bar then shows a percentage and an
            estimate of the time left).

    Raises:
        ImportError: tqdm is not installed.

    Example::

        pages = await stream(urls).pipe(map_(fetch, concurrency=8), progress("pages")).collect()
    """
    if desc is not None and not isinstance(desc, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"desc must be a str or None, got {type(desc).__name__}")
    if total is not None:
        check_int("total", total, minimum=0)
    bar_class = _bar_class()

    async def apply(source: AsyncIterator[Any], stage: Stage) -> AsyncIterator[Any]:
        bar = bar_class(desc=desc, total=total, unit=" items")
        count = 0
        stage.items_in = 0
        try:
            async for item in source:
                count += 1
                stage.items_in = count
                bar.update()
                yield item
        finally:
            bar.close()
            await aclose(source)

    return StreamOperator[Any, Any](apply)


class StageBars(Hooks):
    """Hooks that show one progress bar per stage, counting the items it emits.

    Used by ``progress=True`` on :meth:`Stream.open` and the consumers. A bar appears when its
    stage emits its first item, so bars show upstream first; stages with the same operator
    share a bar.
    """

    __slots__ = ("_bar_class", "_bars")

    def __init__(self) -> None:
        self._bar_class = _bar_class()
        self._bars: dict[str, Bar[Any]] = {}

    def item_emitted(self, stage: str, item: object) -> None:
        bar = self._bars.get(stage)
        if bar is None:
            bar = self._bars[stage] = self._bar_class(desc=stage, unit=" items")
        bar.update()

    def run_finished(self, statistics: PipelineStatistics, error: BaseException | None) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()
