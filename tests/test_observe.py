"""Observing pipelines: statistics(), hooks and diagrams.

Counts are checked against plain-list models on random inputs; running snapshots are taken
while calls are held on events (no sleeps); the bottleneck logic is tested on hand-made
snapshots, since real busy times depend on the machine.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import anyio
import pytest
from anyio import wait_all_tasks_blocked
from anyio.lowlevel import checkpoint
from hypothesis import given
from hypothesis import strategies as st

from streamkit import (
    Failures,
    Hooks,
    PipelineStatistics,
    Retry,
    StageStatistics,
    batch,
    filter_,
    flat_map,
    map_,
    skip,
    skip_while,
    stream,
    take,
    take_while,
    tap,
)
from streamkit._diagram import Node
from streamkit._runtime._stage import SAMPLE_EVERY, Stage
from streamkit.testing import TrackedSource
from tests.strategies import ASYNC_SETTINGS, ints, pool_options

pytestmark = pytest.mark.anyio


def stage_stats(
    operator: str = "op", *, busy: float | None, concurrency: int = 1, elapsed: float = 1.0
) -> StageStatistics:
    return StageStatistics(
        operator=operator,
        items_in=10,
        items_out=10,
        skipped=0,
        failed=0,
        retries=0,
        concurrency=concurrency,
        in_flight=0,
        window=0 if concurrency == 1 else 64,
        held=0,
        peak_held=0,
        buffered=0,
        busy_time=busy,
        elapsed=elapsed,
    )


async def odd(x: int) -> bool:
    await checkpoint()
    return x % 2 == 1


def inverse(x: int) -> float:
    return 1 / x


class TestStatistics:
    @ASYNC_SETTINGS
    @given(xs=ints, options=pool_options())
    async def test_counts_match_a_list_model(self, xs: list[int], options: dict[str, Any]) -> None:
        s = stream(xs).pipe(
            map_(inverse, on_error="skip"), filter_(lambda x: x > 0), map_(odd, **options)
        )
        async with s.open() as items:
            out = [x async for x in items]
        inverses = [1 / x for x in xs if x]
        positives = [x for x in inverses if x > 0]
        stats = items.statistics()
        assert stats.finished
        assert [(st.items_in, st.items_out) for st in stats.stages] == [
            (len(xs), len(inverses)),
            (len(inverses), len(positives)),
            (len(positives), len(out)),
        ]
        assert stats.skipped == stats.stages[0].skipped == xs.count(0)
        assert all(st.in_flight == 0 and st.held == 0 for st in stats.stages)
        assert stats.stages[2].concurrency == options["concurrency"]
        assert all(st.busy_time is not None and st.busy_time >= 0 for st in stats.stages)

    @pytest.mark.parametrize(
        ("operator", "expected"),
        [
            (take_while(lambda x: x < 5), (6, 5)),
            (skip_while(lambda x: x < 5), (20, 15)),
            (tap(lambda x: None), (20, 20)),
        ],
    )
    async def test_counts_of_other_per_item_operators(
        self, operator: Any, expected: tuple[int, int]
    ) -> None:
        async with stream(range(20)).pipe(operator).open() as items:
            async for _ in items:
                pass
        (only,) = items.statistics().stages
        assert (only.items_in, only.items_out, only.in_flight) == (*expected, 0)

    async def test_operators_without_counters_report_none(self) -> None:
        async with stream(range(5)).pipe(batch(2)).open() as items:
            assert [x async for x in items] == [[0, 1], [2, 3], [4]]
        for stage in items.statistics().stages:
            assert (stage.items_in, stage.items_out, stage.busy_time) == (None,) * 3
            assert stage.throughput is stage.utilization is None

    async def test_take_and_skip_count_but_call_nothing(self) -> None:
        async with stream(range(5)).pipe(skip(1), take(2)).open() as items:
            assert [x async for x in items] == [1, 2]
        counts = [(s.items_in, s.items_out, s.busy_time) for s in items.statistics().stages]
        assert counts == [(3, 2, None), (2, 2, None)]

    async def test_running_snapshot_of_a_concurrent_stage(self) -> None:
        release = anyio.Event()

        async def held(x: int) -> int:
            await release.wait()
            return x

        with anyio.fail_after(10):
            async with stream(range(100)).pipe(map_(held, concurrency=3, window=5)).open() as it:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(it.receive)
                    await wait_all_tasks_blocked()
                    (running,) = it.statistics().stages
                    assert not it.statistics().finished
                    assert (running.items_in, running.items_out) == (3, 0)
                    assert (running.in_flight, running.concurrency) == (3, 3)
                    assert (running.held, running.window, running.buffered) == (3, 5, 0)
                    release.set()
                await wait_all_tasks_blocked()
                (later,) = it.statistics().stages
                assert (later.items_in, later.items_out) == (6, 1)
                assert later.held == later.peak_held == 5  # the window is full: nobody reads
                assert later.buffered == 5  # the reorder backlog
                assert later.in_flight == 0
        assert it.statistics().finished

    async def test_running_snapshot_of_a_sequential_async_call(self) -> None:
        release = anyio.Event()

        async def held(x: int) -> int:
            await release.wait()
            return x

        with anyio.fail_after(10):
            async with stream(range(3)).pipe(map_(held)).open() as items:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(items.receive)
                    await wait_all_tasks_blocked()
                    (running,) = items.statistics().stages
                    assert (running.items_in, running.items_out, running.in_flight) == (1, 0, 1)
                    release.set()
                (later,) = items.statistics().stages
                assert (later.items_in, later.items_out, later.in_flight) == (1, 1, 0)

    async def test_a_failed_or_stopped_stage_has_nothing_in_flight(self) -> None:
        async with stream([1, 0, 2]).pipe(map_(inverse)).open() as items:
            with pytest.raises(ZeroDivisionError):
                async for _ in items:
                    pass
        (failed,) = items.statistics().stages
        assert (failed.items_in, failed.items_out, failed.in_flight) == (2, 1, 0)

    def test_sequential_busy_time_scales_the_sampled_calls(self) -> None:
        stage = Stage("map_(f)")
        stage.items_in = 2 * SAMPLE_EVERY
        stage.sample(0.25)
        stage.sample(0.75)
        stats = stage.statistics(elapsed=100.0)
        assert stats.busy_time == pytest.approx(SAMPLE_EVERY * 1.0)
        assert stats.utilization == pytest.approx(SAMPLE_EVERY / 100)
        assert stats.throughput == pytest.approx(2 * SAMPLE_EVERY / 100)

    async def test_throughput_and_elapsed(self) -> None:
        async with stream(range(10)).pipe(map_(str)).open() as items:
            async for _ in items:
                pass
        stats = items.statistics()
        (only,) = stats.stages
        assert only.elapsed == stats.elapsed > 0
        assert only.throughput == pytest.approx(10 / stats.elapsed)
        assert items.statistics() == stats  # final: no longer changes

    @pytest.mark.parametrize("concurrency", [1, 3])
    async def test_inner_streams_are_not_listed(self, concurrency: int) -> None:
        """flat_map builds one inner stream per item; its operators must not pile up as stages
        of the run (a long run would grow its statistics and hooks without end)."""

        def inner(x: int) -> Any:
            return stream(range(x % 3)).pipe(map_(lambda y: y + 1), take(2))

        s = stream(range(50)).pipe(flat_map(inner, concurrency=concurrency))
        async with s.open() as items:
            out = [x async for x in items]
        assert len(out) == sum(min(x % 3, 2) for x in range(50))
        assert [st.operator for st in items.statistics().stages] == [
            f"flat_map(inner{'' if concurrency == 1 else f', concurrency={concurrency}'})"
        ]


class TestBottleneck:
    def test_the_busiest_stage_is_the_bottleneck_and_the_others_wait(self) -> None:
        stats = PipelineStatistics(
            (
                stage_stats("parse", busy=0.1),
                stage_stats("fetch", busy=3.6, concurrency=4),
                stage_stats("take(3)", busy=None),
            ),
            elapsed=1.0,
            finished=True,
        )
        assert stats.bottleneck is stats.stages[1]
        assert stats.bottleneck.utilization == pytest.approx(0.9)
        assert stats.bottleneck_hint() == (
            "fetch is the bottleneck: busy 90% of its capacity (4 calls at once); raise its "
            "concurrency. Waiting on it: parse (10%)"
        )

    def test_no_stage_saturated(self) -> None:
        stats = PipelineStatistics(
            (stage_stats("a", busy=0.2), stage_stats("b", busy=0.3)), elapsed=1.0, finished=False
        )
        assert stats.bottleneck is None
        assert stats.bottleneck_hint() == (
            "no stage is saturated (the busiest, b, is busy 30%): the source or the consumer "
            "sets the pace"
        )

    def test_nothing_timed(self) -> None:
        stats = PipelineStatistics((stage_stats(busy=None),), elapsed=1.0, finished=True)
        assert stats.bottleneck is None
        assert "nothing to time" in stats.bottleneck_hint()

    async def test_a_slow_sequential_stage_is_found(self) -> None:
        async def slow(x: int) -> int:
            await anyio.sleep(0.002)
            return x

        async with stream(range(40)).pipe(map_(str), map_(slow), map_(int)).open() as items:
            async for _ in items:
                pass
        bottleneck = items.statistics().bottleneck
        assert bottleneck is not None
        assert bottleneck.operator == "map_(slow)"

    def test_html_table(self) -> None:
        stats = PipelineStatistics(
            (stage_stats("map_(<lambda>)", busy=0.5), stage_stats("f", busy=0.1, concurrency=2)),
            elapsed=1.0,
            finished=True,
        )
        html = stats._repr_html_()
        assert html.count("<tr>") == 3  # header and two stages
        assert "map_(&lt;lambda&gt;)" in html
        assert "<td>0 / 64</td>" in html
        assert "finished, 1.000 s: map_(&lt;lambda&gt;) is the bottleneck" in html

    async def test_a_pipeline_shows_its_statistics_in_a_notebook(self) -> None:
        async with stream([1]).pipe(map_(str)).open() as items:
            assert "<td>map_(str)</td>" in items._repr_html_()


class Recorder(Hooks):
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.final: PipelineStatistics | None = None

    def run_started(self, pipeline: str) -> None:
        self.events.append(("run_started", pipeline))

    def run_finished(self, statistics: PipelineStatistics, error: BaseException | None) -> None:
        self.final = statistics
        self.events.append(("run_finished", error))

    def stage_started(self, stage: str) -> None:
        self.events.append(("stage_started", stage))

    def stage_finished(self, stage: StageStatistics) -> None:
        self.events.append(("stage_finished", stage.operator, stage.items_out))

    def item_emitted(self, stage: str, item: object) -> None:
        self.events.append(("item", stage, item))

    def error(self, stage: str, exc: Exception, index: int, item: object, *, skipped: bool) -> None:
        self.events.append(("error", stage, exc, index, item, skipped))

    def retry(
        self, stage: str, exc: Exception, index: int, item: object, *, attempt: int, delay: float
    ) -> None:
        self.events.append(("retry", stage, exc, index, item, attempt, delay))


class TestHooks:
    async def test_events_in_order(self) -> None:
        hooks = Recorder()
        s = stream([1, 0, 2]).pipe(map_(inverse, on_error="skip"), filter_(lambda x: x < 1))
        assert await s.collect(hooks=hooks) == [0.5]
        error = hooks.events[4][2]
        assert isinstance(error, ZeroDivisionError)
        assert hooks.events == [
            ("run_started", repr(s)),
            ("stage_started", "filter_(<lambda>)"),
            ("stage_started", "map_(inverse, on_error='skip')"),
            ("item", "map_(inverse, on_error='skip')", 1.0),
            # filter_ drops 1.0 and pulls again
            ("error", "map_(inverse, on_error='skip')", error, 1, 0, True),
            ("item", "map_(inverse, on_error='skip')", 0.5),
            ("item", "filter_(<lambda>)", 0.5),
            ("stage_finished", "map_(inverse, on_error='skip')", 2),
            ("stage_finished", "filter_(<lambda>)", 1),
            ("run_finished", None),
        ]
        assert hooks.final is not None
        assert hooks.final.finished
        assert hooks.final.skipped == 1

    async def test_a_raised_error_reaches_the_hooks_and_then_you(self) -> None:
        hooks = Recorder()
        with pytest.raises(ZeroDivisionError) as caught:
            await stream([1, 0]).pipe(map_(inverse, concurrency=2)).drain(hooks=hooks)
        assert ("error", "map_(inverse, concurrency=2)", caught.value, 1, 0, False) in hooks.events
        assert hooks.events[-1] == ("run_finished", caught.value)

    async def test_early_exit_finishes_every_started_stage(self) -> None:
        hooks = Recorder()
        source = TrackedSource.infinite()
        s = stream(source).pipe(map_(str, concurrency=3), take(2))
        with anyio.fail_after(10):
            assert await s.first(hooks=hooks) == "0"
        source.assert_closed()
        started = [e[1] for e in hooks.events if e[0] == "stage_started"]
        finished = [e[1] for e in hooks.events if e[0] == "stage_finished"]
        assert sorted(started) == sorted(finished) == ["map_(str, concurrency=3)", "take(2)"]
        assert hooks.events[-1] == ("run_finished", None)

    async def test_cancellation_from_outside_reaches_run_finished(self) -> None:
        hooks = Recorder()
        with anyio.move_on_after(0.05) as scope:
            await stream.count().pipe(map_(lambda x: anyio.sleep(0.01))).drain(hooks=hooks)
        assert scope.cancelled_caught
        kind, error = hooks.events[-1]
        assert kind == "run_finished"
        assert isinstance(error, anyio.get_cancelled_exc_class())

    async def test_inner_streams_of_flat_map_are_observed(self) -> None:
        hooks = Recorder()
        s = stream([1, 2]).pipe(flat_map(lambda n: stream(range(n)).pipe(map_(str))))
        assert await s.collect(hooks=hooks) == ["0", "0", "1"]
        items = [e[1:] for e in hooks.events if e[0] == "item"]
        assert items == [
            ("map_(str)", "0"),
            ("flat_map(<lambda>)", "0"),
            ("map_(str)", "0"),
            ("flat_map(<lambda>)", "0"),
            ("map_(str)", "1"),
            ("flat_map(<lambda>)", "1"),
        ]

    async def test_user_operators_are_not_reported(self) -> None:
        async def double(source: AsyncIterable[int]) -> AsyncIterator[int]:
            async for x in source:
                yield 2 * x

        hooks = Recorder()
        assert await stream([1]).pipe(double, map_(str)).collect(hooks=hooks) == ["2"]
        assert [e for e in hooks.events if e[0] == "item"] == [("item", "map_(str)", "2")]

    async def test_retrying_reaches_the_retry_hook(self) -> None:
        hooks = Recorder()
        stage = Stage("map_(fetch)", hooks=hooks)
        error = OSError("flaky")
        stage.retrying(error, 3, "url", attempt=1, delay=0.5)
        assert hooks.events == [("retry", "map_(fetch)", error, 3, "url", 1, 0.5)]
        Stage("map_(fetch)").retrying(error, 3, "url", attempt=1, delay=0.5)  # no hooks: no-op

    @pytest.mark.parametrize("concurrency", [1, 3])
    async def test_retries_and_failures_reach_the_hooks(self, concurrency: int) -> None:
        attempts: dict[int, int] = {}

        def flaky(x: int) -> int:
            attempts[x] = attempts.get(x, 0) + 1
            if x % 2 and attempts[x] < 3:
                raise ConnectionError(x)
            return x

        hooks = Recorder()
        policy = Retry(on=ConnectionError, attempts=2, backoff=0)
        s = stream(range(4)).pipe(
            map_(flaky, concurrency=concurrency, retry=policy, on_error=Failures())
        )
        async with s.open(hooks=hooks) as items:
            assert sorted([x async for x in items]) == [0, 2]
        retried = sorted((e[3], e[4], e[5]) for e in hooks.events if e[0] == "retry")
        assert retried == [(1, 1, 1), (3, 3, 1)]  # (index, item, attempt)
        failed = sorted((e[3], e[4], e[5]) for e in hooks.events if e[0] == "error")
        assert failed == [(1, 1, False), (3, 3, False)]
        (stats,) = items.statistics().stages
        assert (stats.failed, stats.retries, stats.skipped, stats.items_out) == (2, 2, 2, 2)

    async def test_the_base_class_does_nothing(self) -> None:
        s = stream(range(3)).pipe(map_(inverse, on_error="skip"))
        assert await s.collect(hooks=Hooks()) == [1.0, 0.5]

    async def test_no_hooks_no_wrapper(self) -> None:
        async with stream([1]).pipe(map_(str)).open() as plain:
            assert plain._output.__name__ == "run"  # type: ignore[attr-defined]  # fused
        async with stream([1]).pipe(map_(str)).open(hooks=Hooks()) as observed:
            assert observed._output.__name__ == "observed"  # type: ignore[attr-defined]

    async def test_an_error_in_a_hook_propagates(self) -> None:
        class Broken(Hooks):
            def item_emitted(self, stage: str, item: object) -> None:
                raise KeyError(item)

        with pytest.raises(KeyError):
            await stream([1]).pipe(map_(str)).collect(hooks=Broken())

    @pytest.mark.parametrize("hooks", [object(), Hooks])
    async def test_bad_hooks(self, hooks: Any) -> None:
        with pytest.raises(TypeError, match=r"hooks must be a streamkit.Hooks instance or None"):
            stream([1]).open(hooks=hooks)

    async def test_bad_progress(self) -> None:
        with pytest.raises(TypeError, match=r"progress must be True or False, got 1"):
            await stream([1]).collect(progress=1)  # type: ignore[arg-type]


class TestDiagram:
    def test_stages_concurrency_and_window(self) -> None:
        s = stream(range(10)) | map_(str, concurrency=4, ordered=False) | take(3)
        assert s.to_mermaid() == "\n".join([
            "flowchart LR",
            '    n0(["stream(range(0, 10))"])',
            '    n1["map_(str, concurrency=4, ordered=False)<br/>concurrency 4<br/>window 64'
            '<br/>unordered"]',
            "    n0 --> n1",
            '    n2["take(3)"]',
            "    n1 --> n2",
        ])

    def test_custom_operators_and_escaping(self) -> None:
        async def tagged(source: AsyncIterable[str]) -> AsyncIterator[str]:
            async for x in source:
                yield f'"{x}"'

        s = stream(["a"]).pipe(tagged, map_(lambda x: x))
        assert s.to_mermaid().splitlines()[2:] == [
            '    n1[["tagged"]]',
            "    n0 --> n1",
            '    n2["map_(#60;lambda#62;)"]',
            "    n1 --> n2",
        ]

    def test_labelled_sources_are_one_box(self) -> None:
        s = stream.merge([1], [2]).pipe(map_(str))
        assert (
            s.to_mermaid().splitlines()[1]
            == '    n0(["stream.merge(stream(list[1]), stream(list[1]))"])'
        )

    def test_branches(self) -> None:
        class FanOut:
            def __call__(self, source: AsyncIterable[int]) -> AsyncIterator[int]:
                return aiter(source)

            def diagram_node(self) -> Node:
                return Node(
                    "broadcast(2)",
                    branches=((Node("map_(a)"), Node("take(1)")), (Node("map_(b)"),)),
                )

        s = stream([1]).pipe(FanOut(), map_(str))
        assert s.to_mermaid().splitlines()[2:] == [
            '    n1["broadcast(2)"]',
            "    n0 --> n1",
            '    n2["map_(a)"]',
            "    n1 --> n2",
            '    n3["take(1)"]',
            "    n2 --> n3",
            '    n4["map_(b)"]',
            "    n1 --> n4",
            '    n5["map_(str)"]',
            "    n1 --> n5",
        ]

    def test_notebook_display(self) -> None:
        s = stream([1]) | map_(str)
        assert s._repr_markdown_() == f"```mermaid\n{s.to_mermaid()}\n```"

    @given(text=st.text())
    def test_labels_never_break_the_syntax(self, text: str) -> None:
        from streamkit._diagram import to_mermaid

        (line,) = to_mermaid([Node(text)]).splitlines()[1:]
        inner = line.removeprefix('    n0["').removesuffix('"]')
        assert '"' not in inner
        assert "<" not in inner.replace("<br/>", "")
