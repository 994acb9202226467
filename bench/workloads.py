"""Common benchmark workloads, identical for every engine measured.

Events are generated from an integer sequence by make_event(i), so every engine
can produce them with its own "sequence source + map" and no engine pays for
materialising a big collection in its client.

W1 stateless : make_event -> map(enrich) -> filter(action != 'logout') -> count at sink
W2 window    : make_event -> event time (ts, bounded out-of-orderness 5 s) ->
               key_by(user) -> tumbling 10 s event-time window -> count per key/window
W3 keyedstate: make_event -> key_by(user) -> KeyedProcessFunction with ValueState
               counter, emitting (user, count) for every event -> count at sink

Copied verbatim (code unchanged) from the shared benchmark definitions,
/work/shared/bench/workloads.py, so that strom owns its copy; every engine measured
(plain loop, strom, peers) must keep using these exact definitions.
"""
USERS = 1000
ACTIONS = ("login", "logout", "view", "purchase", "download", "login_failed")
BASE_MS = 1_700_000_000_000
DISORDER_MS = 3000          # max lateness of an event behind the max timestamp seen
WINDOW_MS = 10_000
OUT_OF_ORDERNESS_MS = 5000  # watermark bound used by W2


def make_event(i):
    """Deterministic event i: (user_id, action, ts_ms). Disorder <= DISORDER_MS."""
    return (
        "user%d" % ((i * 7919) % USERS),
        ACTIONS[(i * 31) % 6],
        BASE_MS + i - ((i * 104729) % DISORDER_MS),
    )


def enrich(e):
    user, action, ts = e
    return (user, action.upper(), ts // 1000)


def expected_w1(n):
    return sum(1 for i in range(n) if make_event(i)[1] != "logout")


def expected_w2(n):
    """{(user, window_start): count}. All events fall within the 5 s bound, none are late."""
    out = {}
    for i in range(n):
        u, _, ts = make_event(i)
        k = (u, ts - ts % WINDOW_MS)
        out[k] = out.get(k, 0) + 1
    return out


def expected_w3(n):
    """Number of emitted records (one per event) and final count per user."""
    final = {}
    for i in range(n):
        u = make_event(i)[0]
        final[u] = final.get(u, 0) + 1
    return n, final
