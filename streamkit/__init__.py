"""streamkit: async stream pipelines with structured concurrency, on asyncio and trio.

Example::

    from streamkit import stream, map_, filter_, take

    top = await stream(urls).pipe(map_(fetch, concurrency=16), filter_(ok), take(5)).collect()
"""

from __future__ import annotations

from ._errors import SKIP as SKIP
from ._errors import EmptyStreamError as EmptyStreamError
from ._errors import Failure as Failure
from ._errors import Failures as Failures
from ._errors import Skip as Skip
from ._errors import StreamConsumedError as StreamConsumedError
from ._errors import StreamkitError as StreamkitError
from ._observe import PipelineStatistics as PipelineStatistics
from ._observe import StageStatistics as StageStatistics
from ._operator import Pipe as Pipe
from ._operator import StreamOperator as StreamOperator
from ._operator import pipe as pipe
from ._ops._buffer import batch as batch
from ._ops._buffer import buffer as buffer
from ._ops._select import filter_ as filter_
from ._ops._select import skip as skip
from ._ops._select import skip_while as skip_while
from ._ops._select import take as take
from ._ops._select import take_while as take_while
from ._ops._transform import enumerate_ as enumerate_
from ._ops._transform import flat_map as flat_map
from ._ops._transform import flatten as flatten
from ._ops._transform import map_ as map_
from ._ops._transform import scan as scan
from ._ops._transform import tap as tap
from ._retry import Retry as Retry
from ._retry import RetryAttempt as RetryAttempt
from ._sources import StreamFactory as StreamFactory
from ._sources import open_pipeline as open_pipeline
from ._sources import stream as stream
from ._stream import Pipeline as Pipeline
from ._stream import Stream as Stream
from ._types import BatchOperator as BatchOperator
from ._types import EnumerateOperator as EnumerateOperator
from ._types import FlattenOperator as FlattenOperator
from ._types import Operator as Operator
from ._types import SameTypeOperator as SameTypeOperator
from ._version import __version__ as __version__

__all__ = (
    "SKIP",
    "BatchOperator",
    "EmptyStreamError",
    "EnumerateOperator",
    "Failure",
    "Failures",
    "FlattenOperator",
    "Operator",
    "Pipe",
    "Pipeline",
    "PipelineStatistics",
    "Retry",
    "RetryAttempt",
    "SameTypeOperator",
    "Skip",
    "StageStatistics",
    "Stream",
    "StreamConsumedError",
    "StreamFactory",
    "StreamOperator",
    "StreamkitError",
    "batch",
    "buffer",
    "enumerate_",
    "filter_",
    "flat_map",
    "flatten",
    "map_",
    "open_pipeline",
    "pipe",
    "scan",
    "skip",
    "skip_while",
    "stream",
    "take",
    "take_while",
    "tap",
)


def _show_public_module() -> None:
    # Show the public location in reprs, tracebacks and docs: streamkit.map_, not
    # streamkit._ops._transform.map_.
    namespace = globals()
    for name in __all__:
        obj = namespace[name]
        if getattr(obj, "__module__", "").startswith("streamkit."):
            obj.__module__ = __name__


_show_public_module()
del _show_public_module
