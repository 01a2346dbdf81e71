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
from ._errors import FrontierFullError as FrontierFullError
from ._errors import Skip as Skip
from ._errors import StreamConsumedError as StreamConsumedError
from ._errors import StreamkitError as StreamkitError
from ._factory import StreamFactory as StreamFactory
from ._factory import open_pipeline as open_pipeline
from ._factory import stream as stream
from ._hooks import Hooks as Hooks
from ._ledger import Ledger as Ledger
from ._ledger import LedgerError as LedgerError
from ._observe import PipelineStatistics as PipelineStatistics
from ._observe import StageStatistics as StageStatistics
from ._operator import Pipe as Pipe
from ._operator import StreamOperator as StreamOperator
from ._operator import pipe as pipe
from ._ops._aggregate import chunk_by as chunk_by
from ._ops._aggregate import distinct as distinct
from ._ops._aggregate import distinct_until_changed as distinct_until_changed
from ._ops._aggregate import first as first
from ._ops._aggregate import group_by as group_by
from ._ops._aggregate import last as last
from ._ops._aggregate import pairwise as pairwise
from ._ops._aggregate import reduce as reduce
from ._ops._aggregate import skip_last as skip_last
from ._ops._aggregate import sort as sort
from ._ops._aggregate import take_last as take_last
from ._ops._aggregate import window as window
from ._ops._buffer import batch as batch
from ._ops._buffer import buffer as buffer
from ._ops._combine import chain as chain
from ._ops._combine import concat_map as concat_map
from ._ops._combine import merge as merge
from ._ops._combine import start_with as start_with
from ._ops._combine import switch_map as switch_map
from ._ops._combine import zip_ as zip_
from ._ops._combine import zip_latest as zip_latest
from ._ops._expand import expand as expand
from ._ops._fanout import broadcast as broadcast
from ._ops._fanout import partition as partition
from ._ops._fanout import route as route
from ._ops._scale import offload as offload
from ._ops._select import filter_ as filter_
from ._ops._select import skip as skip
from ._ops._select import skip_while as skip_while
from ._ops._select import take as take
from ._ops._select import take_while as take_while
from ._ops._time import debounce as debounce
from ._ops._time import delay as delay
from ._ops._time import rate_limit as rate_limit
from ._ops._time import sample as sample
from ._ops._time import throttle_first as throttle_first
from ._ops._time import timeout as timeout
from ._ops._transform import enumerate_ as enumerate_
from ._ops._transform import flat_map as flat_map
from ._ops._transform import flatten as flatten
from ._ops._transform import map_ as map_
from ._ops._transform import scan as scan
from ._ops._transform import tap as tap
from ._progress import progress as progress
from ._push import PushSource as PushSource
from ._retry import Retry as Retry
from ._retry import RetryAttempt as RetryAttempt
from ._stream import Pipeline as Pipeline
from ._stream import Stream as Stream
from ._sync import SyncPipeline as SyncPipeline
from ._types import BatchOperator as BatchOperator
from ._types import CombineOperator as CombineOperator
from ._types import EnumerateOperator as EnumerateOperator
from ._types import FlattenOperator as FlattenOperator
from ._types import Operator as Operator
from ._types import OrDefaultOperator as OrDefaultOperator
from ._types import PairwiseOperator as PairwiseOperator
from ._types import SameTypeOperator as SameTypeOperator
from ._types import WindowOperator as WindowOperator
from ._types import ZipOperator as ZipOperator
from ._version import __version__ as __version__

__all__ = (
    "SKIP",
    "BatchOperator",
    "CombineOperator",
    "EmptyStreamError",
    "EnumerateOperator",
    "Failure",
    "Failures",
    "FlattenOperator",
    "FrontierFullError",
    "Hooks",
    "Ledger",
    "LedgerError",
    "Operator",
    "OrDefaultOperator",
    "PairwiseOperator",
    "Pipe",
    "Pipeline",
    "PipelineStatistics",
    "PushSource",
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
    "SyncPipeline",
    "WindowOperator",
    "ZipOperator",
    "batch",
    "broadcast",
    "buffer",
    "chain",
    "chunk_by",
    "concat_map",
    "debounce",
    "delay",
    "distinct",
    "distinct_until_changed",
    "enumerate_",
    "expand",
    "filter_",
    "first",
    "flat_map",
    "flatten",
    "group_by",
    "last",
    "map_",
    "merge",
    "offload",
    "open_pipeline",
    "pairwise",
    "partition",
    "pipe",
    "progress",
    "rate_limit",
    "reduce",
    "route",
    "sample",
    "scan",
    "skip",
    "skip_last",
    "skip_while",
    "sort",
    "start_with",
    "stream",
    "switch_map",
    "take",
    "take_last",
    "take_while",
    "tap",
    "throttle_first",
    "timeout",
    "window",
    "zip_",
    "zip_latest",
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
