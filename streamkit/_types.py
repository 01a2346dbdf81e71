"""Type variables and the :class:`Operator` protocol shared by every module."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import Any, Protocol, TypeAlias, TypeVar, TypeVarTuple

T = TypeVar("T")
U = TypeVar("U")
V = TypeVar("V")
D = TypeVar("D")
R = TypeVar("R")
T1 = TypeVar("T1")
T2 = TypeVar("T2")
T3 = TypeVar("T3")
T4 = TypeVar("T4")
T5 = TypeVar("T5")
T6 = TypeVar("T6")
T7 = TypeVar("T7")
T8 = TypeVar("T8")
T_contra = TypeVar("T_contra", contravariant=True)
U_co = TypeVar("U_co", covariant=True)
Ts = TypeVarTuple("Ts")

AnyIterable: TypeAlias = Iterable[T] | AsyncIterable[T]

MISSING: Any = object()
"""No ``default``/``initial`` was given (the default of such options)."""


class Operator(Protocol[T_contra, U_co]):
    """Anything that turns an async iterable into an async iterator.

    Every streamkit operator is one, and so is a plain async generator function::

        async def double(source: AsyncIterable[int]) -> AsyncIterator[int]:
            async for x in source:
                yield 2 * x
    """

    def __call__(self, source: AsyncIterable[T_contra], /) -> AsyncIterator[U_co]: ...


# Operators whose output type follows from the input type alone. Their ``__call__`` is generic,
# so a type checker infers it from the stream they are applied to: ``Stream[str] | take(3)`` is
# a ``Stream[str]``.


class SameTypeOperator(Protocol):
    """An operator that emits items of the type it receives (:func:`take`, :func:`buffer`...)."""

    def __call__(self, source: AsyncIterable[T], /) -> AsyncIterator[T]: ...


class BatchOperator(Protocol):
    """An operator that emits lists of the items it receives (:func:`batch`)."""

    def __call__(self, source: AsyncIterable[T], /) -> AsyncIterator[list[T]]: ...


class EnumerateOperator(Protocol):
    """An operator that emits ``(index, item)`` pairs (:func:`enumerate_`)."""

    def __call__(self, source: AsyncIterable[T], /) -> AsyncIterator[tuple[int, T]]: ...


class FlattenOperator(Protocol):
    """An operator that emits the items of each (async) iterable it receives (:func:`flatten`)."""

    def __call__(
        self, source: AsyncIterable[Iterable[T] | AsyncIterable[T]], /
    ) -> AsyncIterator[T]: ...


# Grouping and aggregate operators (streamkit/_ops/_aggregate.py).

D_co = TypeVar("D_co", covariant=True)


class WindowOperator(Protocol):
    """An operator that emits tuples of consecutive items it receives (:func:`window`)."""

    def __call__(self, source: AsyncIterable[T], /) -> AsyncIterator[tuple[T, ...]]: ...


class PairwiseOperator(Protocol):
    """An operator that emits each pair of consecutive items it receives (:func:`pairwise`)."""

    def __call__(self, source: AsyncIterable[T], /) -> AsyncIterator[tuple[T, T]]: ...


class OrDefaultOperator(Protocol[D_co]):
    """An operator that emits an item it receives, or a default of type ``D_co``
    (:func:`first` and :func:`last` with ``default=``)."""

    def __call__(self, source: AsyncIterable[T], /) -> AsyncIterator[T | D_co]: ...


class CombineOperator(Protocol[U_co]):
    """An operator that emits the items it receives and items of type ``U_co`` from other
    inputs (:func:`merge`, :func:`chain`, :func:`start_with`)."""

    def __call__(self, source: AsyncIterable[T], /) -> AsyncIterator[T | U_co]: ...


class ZipOperator(Protocol[*Ts]):
    """An operator that emits tuples of an item it receives and one item of each other input
    (:func:`zip_`, :func:`zip_latest`)."""

    def __call__(self, source: AsyncIterable[T], /) -> AsyncIterator[tuple[T, *Ts]]: ...


MYPY = False
"""True for mypy only (mypy treats any name ``MYPY`` as always true; pyright and the runtime read
it as False). Factories whose function may be sync or async declare two overloads for mypy under
``if MYPY:`` and one signature with a union for pyright and the runtime: mypy needs the overloads
to tell ``Awaitable[U]`` from ``U``, while pyright infers a lambda's parameter from the stream only
through a single signature (with overloads it picks the ``Awaitable`` one before it knows the
lambda's parameter type)."""
