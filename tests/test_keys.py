"""Key selectors on the per-record path: field access recognised as itemgetter, same results and
errors as the user's function, unhashable keys still rejected."""
from __future__ import annotations

import operator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strom.api.functions import KeyedProcessFunction
from strom.errors import InvalidKeyError, UserFunctionError
from strom.runtime.keys import field_selector, key_expression, selected_field
from strom.testing import CollectSink

G = 0


def _two(v: Any, w: Any = 1) -> Any:
    return v[w]


@pytest.mark.parametrize("fn, field", [
    (lambda e: e[0], 0),
    (lambda e: e[-1], -1),
    (lambda e: e["user"], "user"),
    (lambda e: e[(1, 2)], (1, 2)),
])
def test_field_access_becomes_itemgetter(fn: Any, field: Any) -> None:
    sel = field_selector(fn)
    assert type(sel) is operator.itemgetter
    assert selected_field(sel) == (True, field)


def test_named_function_with_field_access_too() -> None:
    def user_of(event):
        return event[0]

    assert selected_field(field_selector(user_of)) == (True, 0)


@pytest.mark.parametrize("fn", [
    lambda e: e[0][1],
    lambda e: e[G],
    lambda e: e.user,
    lambda e: e,
    lambda e: e[0] + 1,
    lambda e, f=0: e[f],
    lambda *e: e[0],
    _two,
    len,
    operator.itemgetter(0, 1),
], ids=["nested", "global-index", "attribute", "identity", "arithmetic", "default-arg", "varargs",
        "two-params", "builtin", "two-items"])
def test_other_selectors_are_left_alone(fn: Any) -> None:
    assert field_selector(fn) is fn
    assert selected_field(fn)[0] is False


def test_closure_is_left_alone() -> None:
    i = 0
    fn = lambda e: e[i]  # noqa: E731
    assert field_selector(fn) is fn


def test_key_expression_inlines_only_field_selectors() -> None:
    names: dict[str, Any] = {}
    assert key_expression(operator.itemgetter(2), names, "value") == "value[{p}key_field]"
    assert names == {"key_field": 2}
    fn = lambda e: e.k  # noqa: E731
    names = {}
    assert key_expression(fn, names, "v") == "{p}ks(v)"
    assert names == {"ks": fn}


values = st.one_of(
    st.tuples(st.integers()), st.lists(st.integers(), max_size=3), st.text(max_size=3),
    st.dictionaries(st.sampled_from(["user", 0]), st.integers(), max_size=2), st.integers(), st.none())


@given(values, st.sampled_from([0, 1, -1, "user"]))
def test_itemgetter_equals_the_lambda_on_any_value(value: Any, field: Any) -> None:
    fn = eval(f"lambda e: e[{field!r}]")  # noqa: S307 - a lambda with a literal subscript
    sel = field_selector(fn)
    assert sel is not fn
    try:
        expected: Any = ("ok", fn(value))
    except Exception as exc:  # noqa: BLE001 - the comparison is the point
        expected = ("raised", type(exc), str(exc))
    try:
        got: Any = ("ok", sel(value))
    except Exception as exc:  # noqa: BLE001
        got = ("raised", type(exc), str(exc))
    assert got == expected


class Count(KeyedProcessFunction):
    def open(self, ctx: Any) -> None:
        from strom.state import ValueStateDescriptor
        self.n = ctx.get_state(ValueStateDescriptor("n", None))

    def process_element(self, value: Any, ctx: Any) -> Any:
        n = (self.n.value() or 0) + 1
        self.n.update(n)
        yield ctx.get_current_key(), n


def failure_chain(env: Any) -> list[BaseException]:
    """Run the job, which must fail; the exception and its ``__cause__`` chain."""
    with pytest.raises(Exception) as info:
        env.execute()
    chain: list[BaseException] = []
    exc: BaseException | None = info.value
    while exc is not None and exc not in chain:
        chain.append(exc)
        exc = exc.__cause__
    return chain


@pytest.mark.parametrize("parallelism", [1, 2])
def test_field_keys_of_every_hashable_kind(env: Any, parallelism: int) -> None:
    env.set_parallelism(parallelism)
    data = [("a", 1), (1, 2), (1.5, 3), (True, 4), (b"x", 5), (("t", 1), 6), ("a", 7), (("t", 1), 8)]
    sink = CollectSink()
    env.from_collection(data).key_by(lambda e: e[0]).process(Count()).add_sink(sink)
    env.execute()
    # 1 and True are equal keys in Python (and hash alike): one counter, as a dict would have it
    assert sorted(map(repr, sink.values)) == sorted(map(repr, [
        ("a", 1), (1, 1), (1.5, 1), (True, 2), (b"x", 1), (("t", 1), 1), ("a", 2), (("t", 1), 2)]))


@pytest.mark.parametrize("parallelism", [1, 2])
def test_tuple_key_holding_a_list_is_rejected(env: Any, parallelism: int) -> None:
    env.set_parallelism(parallelism)
    env.from_collection([(("t", [1]), 1)]).key_by(lambda e: e[0]).process(Count()).print()
    chain = failure_chain(env)
    assert any(isinstance(e, (InvalidKeyError, TypeError)) and "unhashable" in str(e) for e in chain)


def test_field_selector_error_names_operator_and_element(env: Any) -> None:
    env.from_collection([("a",), ()]).key_by(lambda e: e[0]).process(Count()).print()
    chain = failure_chain(env)
    udf = next(e for e in chain if isinstance(e, UserFunctionError))
    assert "()" in str(udf) and "IndexError" in str(udf)
    assert any(isinstance(e, IndexError) for e in chain)
