"""Nexmark (bench/nexmark): the generator follows the reference, each query equals its batch result."""
from __future__ import annotations

import importlib.util
import json
import random
import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench" / "nexmark"))

from batch import comparable, expected  # noqa: E402
from generator import (  # noqa: E402
    FIRST_AUCTION_ID,
    FIRST_PERSON_ID,
    Auction,
    Bid,
    GeneratorConfig,
    NexmarkGenerator,
    Person,
    generate,
)
from queries import QUERIES, WATERMARK_DELAY_MS, source  # noqa: E402

from strom.datastream import StreamExecutionEnvironment  # noqa: E402

# windows close several times and events are out of order within groups of 16 (160 ms)
SLOW = GeneratorConfig(first_event_rate=100, out_of_order_group_size=16)
N = 4000


def run_query(query: str, events: list, parallelism: int = 1) -> list:
    """The query's output through ``execute_and_collect`` (run.py measures with a sink)."""
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(parallelism)
    return list(QUERIES[query](env, source(env, events)).execute_and_collect())


@pytest.fixture(scope="module")
def slow_events() -> list:
    return generate(N, SLOW, seed=3)


@pytest.fixture(scope="module")
def reference_events() -> list:
    return generate(N, GeneratorConfig(), seed=4)


# --------------------------------------------------------------------------- generator
def test_kinds_follow_the_1_3_46_proportions_by_event_id() -> None:
    events = generate(500)
    kinds = [type(e) for e in events]
    for i, kind in enumerate(kinds):
        rem = i % 50
        assert kind is (Person if rem < 1 else Auction if rem < 4 else Bid)
    assert Counter(kinds) == {Person: 10, Auction: 30, Bid: 460}


def test_ids_start_at_1000_and_follow_the_last_base0_logic() -> None:
    events = generate(1000)
    persons = [e for e in events if type(e) is Person]
    auctions = [e for e in events if type(e) is Auction]
    assert [p.id for p in persons] == list(range(FIRST_PERSON_ID, FIRST_PERSON_ID + 20))
    assert [a.id for a in auctions] == list(range(FIRST_AUCTION_ID, FIRST_AUCTION_ID + 60))
    cfg = GeneratorConfig()
    assert cfg.last_base0_auction_id(0) == -1          # a person first: no auction yet
    assert cfg.last_base0_auction_id(52) == 4          # the second epoch's second auction
    assert cfg.last_base0_auction_id(60) == 5          # a bid: the epoch's last auction
    assert cfg.last_base0_person_id(149) == 2
    for e in events:
        if type(e) is Bid:
            assert FIRST_AUCTION_ID <= e.auction <= FIRST_AUCTION_ID + 60 + 10
            assert FIRST_PERSON_ID <= e.bidder <= FIRST_PERSON_ID + 20 + 10
        elif type(e) is Auction:
            assert 10 <= e.category < 15 and e.reserve > e.initial_bid and e.expires > e.date_time
            assert FIRST_PERSON_ID <= e.seller <= FIRST_PERSON_ID + 20 + 10


def test_hot_auctions_bidders_and_sellers() -> None:
    events = generate(20_000, seed=5)
    bids = [e for e in events if type(e) is Bid]
    auctions = [e for e in events if type(e) is Auction]
    # half the bids go to the hot auction (a multiple of 100 in base 0), 3/4 to a hot bidder
    hot_auction = sum((b.auction - FIRST_AUCTION_ID) % 100 == 0 for b in bids) / len(bids)
    hot_bidder = sum((b.bidder - FIRST_PERSON_ID) % 100 == 1 for b in bids) / len(bids)
    hot_seller = sum((a.seller - FIRST_PERSON_ID) % 100 == 0 for a in auctions) / len(auctions)
    assert 0.47 < hot_auction < 0.53 and 0.72 < hot_bidder < 0.78 and 0.71 < hot_seller < 0.79
    hot_channel = sum(b.channel in ("Google", "Facebook", "Baidu", "Apple") for b in bids) / len(bids)
    assert 0.47 < hot_channel < 0.53


def test_event_time_and_field_sizes() -> None:
    cfg = GeneratorConfig()
    events = generate(1000, cfg)
    assert [e.date_time for e in events] == [cfg.base_time + i // 10 for i in range(1000)]
    p = next(e for e in events if type(e) is Person)
    assert p.state in {"AZ", "CA", "ID", "OR", "WA", "WY"} and " " in p.name and p.email_address.endswith(".com")
    assert len(p.credit_card) == 19
    # extra pads bids to ~100 bytes: 100 - 32 +- 20 %
    sizes = [len(e.extra) for e in events if type(e) is Bid]
    assert min(sizes) >= 54 and max(sizes) <= 82


def test_deterministic_from_the_injected_random() -> None:
    assert generate(300, seed=1) == generate(300, seed=1)
    assert generate(300, seed=1) != generate(300, seed=2)
    gen = NexmarkGenerator(rng=random.Random(1))
    assert [gen.next_event() for _ in range(300)] == generate(300, seed=1)


def test_out_of_order_groups_stay_within_the_watermark_delay() -> None:
    events = generate(2000, SLOW)
    high = None
    lag = 0
    for e in events:
        high = e.date_time if high is None else max(high, e.date_time)
        lag = max(lag, high - e.date_time)
    assert 0 < lag < SLOW.max_out_of_orderness_ms() <= WATERMARK_DELAY_MS


# --------------------------------------------------------------------------- queries
@pytest.mark.parametrize("query", sorted(QUERIES))
def test_query_equals_batch_out_of_order(query: str, slow_events: list) -> None:
    rows = run_query(query, slow_events)
    want = expected(query, slow_events)
    assert want, f"{query}: the batch result is empty, so the check would prove nothing"
    assert comparable(query, rows) == want


@pytest.mark.parametrize("query", sorted(QUERIES))
def test_query_equals_batch_reference_rate(query: str, reference_events: list) -> None:
    rows = run_query(query, reference_events)
    assert comparable(query, rows) == expected(query, reference_events)


@pytest.mark.parametrize("query", ["q3", "q4", "q5", "q8"])
def test_keyed_queries_at_parallelism_2(query: str, slow_events: list) -> None:
    rows = run_query(query, slow_events, parallelism=2)
    assert comparable(query, rows) == expected(query, slow_events)


def test_q4_emits_one_update_per_auction_with_a_qualifying_bid(slow_events: list) -> None:
    rows = run_query("q4", slow_events)
    winners = 0
    by_id: dict[int, list] = {}
    for e in slow_events:
        if type(e) is Bid:
            by_id.setdefault(e.auction, []).append(e)
    for a in slow_events:
        if type(a) is Auction:
            winners += any(a.date_time <= b.date_time <= a.expires for b in by_id.get(a.id, ()))
    assert len(rows) == winners > 0


def test_run_script_checks_and_writes_json(tmp_path: Path) -> None:
    path = Path(__file__).resolve().parents[1] / "bench" / "nexmark" / "run.py"
    spec = importlib.util.spec_from_file_location("nexmark_run", path)
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    out = tmp_path / "nexmark.json"
    assert run.main(["--events", "3000", "--check-events", "2000", "--queries", "q2,q7",
                     "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["all_correct"] and set(report["queries"]) == {"q2", "q7"}
    assert report["queries"]["q2"]["events_per_s"] > 0
