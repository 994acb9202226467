"""Straightforward batch computations of the Nexmark queries over a whole event list.

Each ``batch_qN(events)`` reads the SQL of nexmark/nexmark literally (with the documented
differences listed in ``queries.py``) over the complete, finite input: no watermarks, no state,
no incremental logic. The results are what the streaming queries must produce once the input
has ended; :func:`expected` puts both in a comparable, order-insensitive form.
"""
from __future__ import annotations

from collections import Counter, defaultdict

from generator import Auction, Bid, Person
from queries import (
    EURO_PER_DOLLAR,
    Q2_MODULUS,
    Q3_CATEGORY,
    Q3_STATES,
    Q5_SIZE_MS,
    Q5_SLIDE_MS,
    Q7_SIZE_MS,
    Q8_SIZE_MS,
    final_q4,
)


def _bids(events: list) -> list[Bid]:
    return [e for e in events if type(e) is Bid]


def batch_q0(events: list) -> list:
    return [(b.auction, b.bidder, b.price, b.date_time, b.extra) for b in _bids(events)]


def batch_q1(events: list) -> list:
    return [(b.auction, b.bidder, b.price * EURO_PER_DOLLAR, b.date_time, b.extra) for b in _bids(events)]


def batch_q2(events: list) -> list:
    return [(b.auction, b.price) for b in _bids(events) if b.auction % Q2_MODULUS == 0]


def batch_q3(events: list) -> list:
    persons = {p.id: p for p in events if type(p) is Person and p.state in Q3_STATES}
    out = []
    for a in events:
        if type(a) is Auction and a.category == Q3_CATEGORY and a.seller in persons:
            p = persons[a.seller]
            out.append((p.name, p.city, p.state, a.id))
    return out


def batch_q4(events: list) -> dict:
    """``{category: average of max(price) per auction}`` over bids in ``[dateTime, expires]``."""
    auctions = [a for a in events if type(a) is Auction]
    bids_by_auction: dict[int, list[Bid]] = defaultdict(list)
    for b in _bids(events):
        bids_by_auction[b.auction].append(b)
    finals: dict[int, list[int]] = defaultdict(list)
    for a in auctions:
        prices = [b.price for b in bids_by_auction.get(a.id, ())
                  if a.date_time <= b.date_time <= a.expires]
        if prices:
            finals[a.category].append(max(prices))
    return {category: sum(ps) / len(ps) for category, ps in finals.items()}


def _window_starts(ts: int, size: int, slide: int) -> list[int]:
    last = ts - ts % slide
    return list(range(last, ts - size, -slide))


def batch_q5(events: list) -> list:
    counts: Counter = Counter()
    for b in _bids(events):
        for start in _window_starts(b.date_time, Q5_SIZE_MS, Q5_SLIDE_MS):
            counts[(start, b.auction)] += 1
    maxn: dict[int, int] = {}
    for (start, _), n in counts.items():
        if n > maxn.get(start, 0):
            maxn[start] = n
    return [(auction, n, start) for (start, auction), n in counts.items() if n >= maxn[start]]


def batch_q7(events: list) -> list:
    by_window: dict[int, list[Bid]] = defaultdict(list)
    for b in _bids(events):
        by_window[b.date_time - b.date_time % Q7_SIZE_MS].append(b)
    out = []
    for bids in by_window.values():
        top = max(b.price for b in bids)
        out.extend((b.auction, b.price, b.bidder, b.date_time, b.extra) for b in bids if b.price == top)
    return out


def batch_q8(events: list) -> list:
    persons = {(p.id, p.name, p.date_time - p.date_time % Q8_SIZE_MS) for p in events if type(p) is Person}
    sellers = {(a.seller, a.date_time - a.date_time % Q8_SIZE_MS) for a in events if type(a) is Auction}
    return [(pid, name, start) for pid, name, start in persons if (pid, start) in sellers]


BATCH = {
    "q0": batch_q0, "q1": batch_q1, "q2": batch_q2, "q3": batch_q3,
    "q4": batch_q4, "q5": batch_q5, "q7": batch_q7, "q8": batch_q8,
}


def comparable(query: str, rows: list) -> object:
    """A streaming query's output rows in the form :func:`expected` returns."""
    if query == "q4":
        return final_q4(rows)
    return sorted(rows)


def expected(query: str, events: list) -> object:
    """The batch result of ``query`` in comparable form (sorted rows; q4 a dict)."""
    result = BATCH[query](events)
    return result if query == "q4" else sorted(result)
