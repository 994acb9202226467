"""Nexmark q0, q1, q2, q3, q4, q5, q7 and q8 on strom's PyFlink-style DataStream API.

The reference is the SQL of nexmark/nexmark (``nexmark-flink/src/main/resources/queries``),
whose source table has ``WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND``.
:func:`source` does the same here: the event list becomes a stream with event time
``date_time`` and a bounded-out-of-orderness (4 s) watermark strategy, and every
``build_qN(env, events)`` takes that stream and returns the query's result stream.

Written as a PyFlink user writes them; only the imports differ (``strom.*`` for ``pyflink.*``).

| query | reference SQL | here |
|---|---|---|
| q0 | ``SELECT auction, bidder, price, dateTime, extra FROM bid`` | ``filter(bid).map(tuple)`` |
| q1 | ``0.908 * price`` (dollar -> euro) | same; float, not ``DECIMAL(23, 3)`` |
| q2 | ``SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0`` | ``filter.map`` |
| q3 | person JOIN auction ON seller = id, category 10, state OR/ID/CA; ``(name, city, state, a.id)`` | keyed connect + KeyedCoProcessFunction (person in ValueState, auctions waiting for their person in ListState) |
| q4 | avg per category of the max bid per auction over bids in ``[a.dateTime, a.expires]`` | keyed connect auction x bid, max kept in state, event-time timer at ``expires`` emits the winning bid; then key by category and emit the running average |
| q5 | HOP(2 s, 10 s) count per auction; auctions whose count >= max count of the window | key by auction, sliding window count; key by window end, KeyedProcessFunction keeps (max, auctions) and emits at the window's end |
| q7 | bids whose price = max price of their TUMBLE(10 s) window | ``window_all`` tumbling 10 s, AggregateFunction keeping (max, bids at max) |
| q8 | persons with an auction (as seller) in the same TUMBLE(10 s) window; ``(id, name, starttime)`` | union persons and auctions tagged, key by person id, tumbling 10 s window |

Documented differences from the SQL (the batch computations in ``batch.py`` use the same
definitions):

* q1: the converted price is a Python float ``price * 0.908``, not an exact decimal.
* q4: SQL's result is an updating table; here each closed auction updates its category and the
  stream carries ``(category, average)`` updates, so the final answer is the last update per
  category. An auction is closed by an event-time timer at ``expires`` (Beam's WinningBids
  approach); the average is a float ``sum / count`` (Flink's ``AVG`` over ``BIGINT`` truncates to
  an integer). State per auction (a closed flag) is never cleared, and bids for auction ids that
  never arrive stay buffered; a long-running job would put TTL on both.
* q5: each output row also carries the window start, ``(auction, num, window_start)``, so it can
  be checked; ties are all emitted (``num >= maxn``), as the SQL does.
* q7: rows are ``(auction, price, bidder, dateTime, extra)`` (the SQL's column order). The SQL
  joins bids with ``dateTime BETWEEN window_end - 10 s AND window_end``, inclusive at both ends,
  so a bid at exactly ``window_end`` (which belongs to the next window) whose price equals the
  previous window's max would also match; here only bids of the window itself (``[start, end)``)
  are candidates.
* q8: the SQL groups persons by ``(id, name, window)`` before joining; person ids are unique, so
  one row per person and window with at least one auction by that seller.
"""
from __future__ import annotations

from typing import Any

from generator import Auction, Bid, Person
from strom.common import Duration, Time, Types, WatermarkStrategy
from strom.datastream import (
    AggregateFunction,
    DataStream,
    KeyedCoProcessFunction,
    KeyedProcessFunction,
    RuntimeContext,
    StreamExecutionEnvironment,
)
from strom.datastream.functions import ProcessAllWindowFunction, ProcessWindowFunction
from strom.datastream.state import ListStateDescriptor, ValueStateDescriptor
from strom.datastream.window import SlidingEventTimeWindows, TumblingEventTimeWindows

WATERMARK_DELAY_MS = 4_000  # the reference DDL: dateTime - INTERVAL '4' SECOND
Q2_MODULUS = 123
Q3_CATEGORY = 10
Q3_STATES = frozenset(("OR", "ID", "CA"))
Q5_SIZE_MS, Q5_SLIDE_MS = 10_000, 2_000
Q7_SIZE_MS = 10_000
Q8_SIZE_MS = 10_000
EURO_PER_DOLLAR = 0.908
_ANY = Types.PICKLED_BYTE_ARRAY()  # state of Python objects, as in PyFlink


# --------------------------------------------------------------------------- source
def _date_time(event: Any, record_timestamp: int) -> int:
    return event.date_time


def source(env: StreamExecutionEnvironment, events: list) -> DataStream:
    """The event list as a stream with event time ``date_time`` and 4 s out-of-orderness."""
    strategy = (WatermarkStrategy.for_bounded_out_of_orderness(Duration.of_millis(WATERMARK_DELAY_MS))
                .with_timestamp_assigner(_date_time))
    return env.from_collection(events).assign_timestamps_and_watermarks(strategy).name("Nexmark events")


def _bids(events: DataStream) -> DataStream:
    return events.filter(lambda e: type(e) is Bid).name("bids")


def _auctions(events: DataStream) -> DataStream:
    return events.filter(lambda e: type(e) is Auction).name("auctions")


def _persons(events: DataStream) -> DataStream:
    return events.filter(lambda e: type(e) is Person).name("persons")


# --------------------------------------------------------------------------- q0 - q2
def build_q0(env: StreamExecutionEnvironment, events: DataStream) -> DataStream:
    """Pass-through: every bid as ``(auction, bidder, price, date_time, extra)``."""
    return _bids(events).map(lambda b: (b.auction, b.bidder, b.price, b.date_time, b.extra)).name("q0")


def build_q1(env: StreamExecutionEnvironment, events: DataStream) -> DataStream:
    """Currency conversion: ``(auction, bidder, price * 0.908, date_time, extra)``."""
    return _bids(events).map(
        lambda b: (b.auction, b.bidder, b.price * EURO_PER_DOLLAR, b.date_time, b.extra)).name("q1")


def build_q2(env: StreamExecutionEnvironment, events: DataStream) -> DataStream:
    """Selection: ``(auction, price)`` of the bids with ``auction % 123 == 0``."""
    return (_bids(events).filter(lambda b: b.auction % Q2_MODULUS == 0)
            .map(lambda b: (b.auction, b.price)).name("q2"))


# --------------------------------------------------------------------------- q3
class LocalItemJoin(KeyedCoProcessFunction):
    """Keyed by person id: input 1 auctions (by seller), input 2 persons (by id).

    A person's (name, city, state) is kept once seen; auctions that arrive before their seller
    wait in a list. Each auction joins at most one person (ids are unique).
    """

    def open(self, runtime_context: RuntimeContext) -> None:
        self.person = runtime_context.get_state(ValueStateDescriptor("person", _ANY))
        self.waiting = runtime_context.get_list_state(ListStateDescriptor("waiting-auctions", _ANY))

    def process_element1(self, auction: Auction, ctx: Any) -> Any:
        p = self.person.value()
        if p is None:
            self.waiting.add(auction.id)
        else:
            yield (p[0], p[1], p[2], auction.id)

    def process_element2(self, person: Person, ctx: Any) -> Any:
        self.person.update((person.name, person.city, person.state))
        waiting = self.waiting.get()
        if waiting:
            for aid in waiting:
                yield (person.name, person.city, person.state, aid)
            self.waiting.clear()


def build_q3(env: StreamExecutionEnvironment, events: DataStream) -> DataStream:
    """Local item suggestion: ``(name, city, state, auction id)``."""
    auctions = _auctions(events).filter(lambda a: a.category == Q3_CATEGORY)
    persons = _persons(events).filter(lambda p: p.state in Q3_STATES)
    return (auctions.connect(persons)
            .key_by(lambda a: a.seller, lambda p: p.id)
            .process(LocalItemJoin()).name("q3"))


# --------------------------------------------------------------------------- q4
class WinningBids(KeyedCoProcessFunction):
    """Keyed by auction id: input 1 auctions, input 2 bids; emits ``(auction, category, final)``.

    The auction's (category, date_time, expires) and its highest bid in ``[date_time, expires]``
    are kept; an event-time timer at ``expires`` closes the auction and emits the winning price
    (nothing if no bid qualified). Bids that arrive before their auction wait in a list; bids for
    a closed auction are dropped (the watermark guarantees they are outside its interval).
    """

    def open(self, runtime_context: RuntimeContext) -> None:
        self.auction = runtime_context.get_state(ValueStateDescriptor("auction", _ANY))
        self.best = runtime_context.get_state(ValueStateDescriptor("max-price", _ANY))
        self.early = runtime_context.get_list_state(ListStateDescriptor("early-bids", _ANY))
        self.closed = runtime_context.get_state(ValueStateDescriptor("closed", _ANY))

    def _offer(self, start: int, expires: int, date_time: int, price: int) -> None:
        if start <= date_time <= expires:
            best = self.best.value()
            if best is None or price > best:
                self.best.update(price)

    def process_element1(self, auction: Auction, ctx: Any) -> None:
        a = (auction.category, auction.date_time, auction.expires)
        self.auction.update(a)
        early = self.early.get()
        if early:
            for date_time, price in early:
                self._offer(a[1], a[2], date_time, price)
            self.early.clear()
        ctx.timer_service().register_event_time_timer(auction.expires)

    def process_element2(self, bid: Bid, ctx: Any) -> None:
        a = self.auction.value()
        if a is not None:
            self._offer(a[1], a[2], bid.date_time, bid.price)
        elif not self.closed.value():
            self.early.add((bid.date_time, bid.price))

    def on_timer(self, timestamp: int, ctx: Any) -> Any:
        a = self.auction.value()
        best = self.best.value()
        self.auction.clear()
        self.best.clear()
        self.closed.update(True)
        if a is not None and best is not None:
            yield (ctx.get_current_key(), a[0], best)


class AveragePerCategory(KeyedProcessFunction):
    """Keyed by category: running ``(category, sum / count)`` of the winning prices."""

    def open(self, runtime_context: RuntimeContext) -> None:
        self.acc = runtime_context.get_state(ValueStateDescriptor("sum-count", _ANY))

    def process_element(self, value: tuple, ctx: Any) -> Any:
        s, c = self.acc.value() or (0, 0)
        s += value[2]
        c += 1
        self.acc.update((s, c))
        yield (value[1], s / c)


def build_q4(env: StreamExecutionEnvironment, events: DataStream) -> DataStream:
    """Average winning price per category: a stream of ``(category, average)`` updates."""
    winning = (_auctions(events).connect(_bids(events))
               .key_by(lambda a: a.id, lambda b: b.auction)
               .process(WinningBids()).name("q4 winning bids"))
    return winning.key_by(lambda w: w[1]).process(AveragePerCategory()).name("q4")


# --------------------------------------------------------------------------- q5
class CountBids(AggregateFunction):
    def create_accumulator(self) -> int:
        return 0

    def add(self, value: Any, accumulator: int) -> int:
        return accumulator + 1

    def get_result(self, accumulator: int) -> int:
        return accumulator

    def merge(self, a: int, b: int) -> int:
        return a + b


class WithWindow(ProcessWindowFunction):
    """``(window_start, window_end, auction, count)``."""

    def process(self, key: Any, context: Any, elements: Any) -> Any:
        w = context.window()
        for count in elements:
            yield (w.start, w.end, key, count)


class HotItems(KeyedProcessFunction):
    """Keyed by window end: keeps (max count, auctions at max) and emits them at the end."""

    def open(self, runtime_context: RuntimeContext) -> None:
        self.top = runtime_context.get_state(ValueStateDescriptor("top", _ANY))

    def process_element(self, value: tuple, ctx: Any) -> None:
        start, end, auction, num = value
        top = self.top.value()
        if top is None:
            self.top.update((num, start, [auction]))
            ctx.timer_service().register_event_time_timer(end - 1)
        elif num > top[0]:
            self.top.update((num, start, [auction]))
        elif num == top[0]:
            top[2].append(auction)
            self.top.update(top)

    def on_timer(self, timestamp: int, ctx: Any) -> Any:
        num, start, auctions = self.top.value()
        self.top.clear()
        for auction in auctions:
            yield (auction, num, start)


def build_q5(env: StreamExecutionEnvironment, events: DataStream) -> DataStream:
    """Hot items: ``(auction, num, window_start)`` of the most-bid auctions per 10 s / 2 s window."""
    counts = (_bids(events).key_by(lambda b: b.auction)
              .window(SlidingEventTimeWindows.of(Time.milliseconds(Q5_SIZE_MS), Time.milliseconds(Q5_SLIDE_MS)))
              .aggregate(CountBids(), window_function=WithWindow()).name("q5 counts"))
    return counts.key_by(lambda c: c[1]).process(HotItems()).name("q5")


# --------------------------------------------------------------------------- q7
class MaxBids(AggregateFunction):
    """Accumulator ``[max price, bids at that price]``."""

    def create_accumulator(self) -> list:
        return [-1, []]

    def add(self, b: Bid, acc: list) -> list:
        if b.price > acc[0]:
            acc[0] = b.price
            acc[1] = [b]
        elif b.price == acc[0]:
            acc[1].append(b)
        return acc

    def get_result(self, acc: list) -> list:
        return acc[1]

    def merge(self, a: list, b: list) -> list:
        if a[0] != b[0]:
            return a if a[0] > b[0] else b
        return [a[0], a[1] + b[1]]


class EmitBids(ProcessAllWindowFunction):
    def process(self, context: Any, elements: Any) -> Any:
        for bids in elements:
            for b in bids:
                yield (b.auction, b.price, b.bidder, b.date_time, b.extra)


def build_q7(env: StreamExecutionEnvironment, events: DataStream) -> DataStream:
    """Highest bid: ``(auction, price, bidder, date_time, extra)`` of each 10 s window's max bids."""
    return (_bids(events).window_all(TumblingEventTimeWindows.of(Time.milliseconds(Q7_SIZE_MS)))
            .aggregate(MaxBids(), window_function=EmitBids()).name("q7"))


# --------------------------------------------------------------------------- q8
class SellerSeen(AggregateFunction):
    """Accumulator ``[person name or None, auction seen]`` over tagged ``(id, name|None)``."""

    def create_accumulator(self) -> list:
        return [None, False]

    def add(self, value: tuple, acc: list) -> list:
        if value[1] is None:
            acc[1] = True
        else:
            acc[0] = value[1]
        return acc

    def get_result(self, acc: list) -> list:
        return acc

    def merge(self, a: list, b: list) -> list:
        return [a[0] if a[0] is not None else b[0], a[1] or b[1]]


class NewUser(ProcessWindowFunction):
    def process(self, key: Any, context: Any, elements: Any) -> Any:
        for name, seen_auction in elements:
            if name is not None and seen_auction:
                yield (key, name, context.window().start)


def build_q8(env: StreamExecutionEnvironment, events: DataStream) -> DataStream:
    """Monitor new users: ``(id, name, window_start)`` of persons who opened an auction in the
    same 10 s window."""
    persons = _persons(events).map(lambda p: (p.id, p.name))
    sellers = _auctions(events).map(lambda a: (a.seller, None))
    return (persons.union(sellers).key_by(lambda t: t[0])
            .window(TumblingEventTimeWindows.of(Time.milliseconds(Q8_SIZE_MS)))
            .aggregate(SellerSeen(), window_function=NewUser()).name("q8"))


QUERIES = {
    "q0": build_q0, "q1": build_q1, "q2": build_q2, "q3": build_q3,
    "q4": build_q4, "q5": build_q5, "q7": build_q7, "q8": build_q8,
}


def final_q4(rows: list) -> dict:
    """The last ``(category, average)`` update per category."""
    return {category: avg for category, avg in rows}
