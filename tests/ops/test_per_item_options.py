"""The options of map_, filter_ and flat_map: declared once, shown and refused alike."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from streamkit import filter_, flat_map, map_
from streamkit._per_item import DEFAULTS, PerItemOptions

FACTORIES = [map_, filter_, flat_map]


def test_every_option_has_a_default() -> None:
    assert list(DEFAULTS) == list(PerItemOptions.__annotations__)


@pytest.mark.parametrize("factory", FACTORIES, ids=lambda f: f.__name__)
def test_signature_shows_each_option_with_its_type_and_default(factory: Any) -> None:
    parameters = inspect.signature(factory).parameters
    options = {name: p for name, p in parameters.items() if p.kind is p.KEYWORD_ONLY}
    assert list(options) == list(DEFAULTS)
    for name, parameter in options.items():
        assert parameter.default == DEFAULTS[name]  # type: ignore[literal-required]
        assert parameter.annotation == PerItemOptions.__annotations__[name].__forward_arg__
    assert "concurrency: 'int | anyio.CapacityLimiter' = 1" in str(inspect.signature(factory))


@pytest.mark.parametrize("factory", FACTORIES, ids=lambda f: f.__name__)
def test_an_unknown_option_is_refused_with_the_closest_named(factory: Any) -> None:
    with pytest.raises(
        TypeError,
        match=r"got an unexpected keyword argument 'concurency' "
        r"\(did you mean 'concurrency'\?\)",
    ):
        factory(abs, concurency=2)
    with pytest.raises(
        TypeError, match=f"^{factory.__name__}\\(\\) got an unexpected keyword argument 'zzz'$"
    ):
        factory(abs, zzz=2)


@pytest.mark.parametrize("factory", FACTORIES, ids=lambda f: f.__name__)
def test_label_leaves_out_options_at_their_default(factory: Any) -> None:
    name = factory.__name__
    assert repr(factory(abs)) == f"{name}(abs)"
    assert repr(factory(abs, concurrency=1, ordered=True)) == f"{name}(abs)"
    assert repr(factory(abs, window=8, concurrency=4)) == f"{name}(abs, concurrency=4, window=8)"
