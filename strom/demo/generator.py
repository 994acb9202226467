"""A seeded, resumable source of web-application log lines (JSON), for the log-analysis demo.

Every line is a JSON object ``{"timestamp": ms, "user_id", "session_id", "action", "ip",
"user_agent", ...}`` with ``action`` one of :data:`ACTIONS`. What the stream contains is a pure
function of :class:`GeneratorConfig` (the seed included): the same config always yields the same
lines, which is what makes the source resumable (a checkpoint stores how many lines were
emitted; a restore regenerates and skips them).

Event time is synthetic: it starts at ``start_ms`` and advances by exponentially distributed
gaps of mean ``mean_gap_ms``; it never comes from the wall clock. The wall clock is used only
to pace the output when ``rate`` is set (a sleep in :meth:`LogGenerator.read_split`).

What the lines contain besides ordinary traffic (users log in, view, purchase, download, log
out; sometimes mistype a password once):

* ``out_of_order``: the event's timestamp is 1 ms to :data:`MAX_OUT_OF_ORDER_MS` behind the
  newest one so far (keep the pipeline's out-of-orderness bound above it: such events are then
  never late).
* ``late``: a delayed delivery: :data:`LATE_MIN_MS` to :data:`LATE_MAX_MS` behind the newest
  timestamp of :data:`LATE_LINES` lines before (only once the stream is that long and old), so
  far behind the watermark, however often it is emitted, that windows treat it as late data.
* ``malformed``: a line that is not valid log JSON (truncated, not an object, a field missing
  or of the wrong type, an unknown action).
* ``anomalies``: an attack burst (5 to 8 ``login_failed`` of one user from one foreign address,
  1 to 20 s apart), or, one time in :data:`QUIET_PERIOD_ONE_IN`, a quiet period: event time
  jumps 24 to 30 hours ahead, so users who stayed logged in act on a stale session.

Example:
    >>> from strom.demo.generator import GeneratorConfig, LogGenerator
    >>> gen = LogGenerator(GeneratorConfig(users=3, events=2, seed=1))
    >>> len(list(gen.read_split(gen.splits(1)[0], 0)))
    2
"""
from __future__ import annotations

import json
import random
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from strom.datastream.connectors import Source

ACTIONS = ("login", "login_failed", "logout", "view", "purchase", "download")
MAX_OUT_OF_ORDER_MS = 5_000
LATE_MIN_MS = 60 * 60_000
LATE_MAX_MS = 120 * 60_000
LATE_LINES = 2_000
QUIET_PERIOD_ONE_IN = 20
QUIET_MIN_MS = 24 * 3_600_000
QUIET_MAX_MS = 30 * 3_600_000

_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/124.0 Mobile Safari/537.36",
)
_ATTACK_AGENTS = ("python-requests/2.31.0", "curl/8.4.0", "Hydra/9.5", "Go-http-client/1.1")
_PAGES = ("/", "/search", "/products", "/products/{n}", "/cart", "/account", "/help")
_FILES = ("invoice-{n}.pdf", "report-{n}.csv", "manual.pdf", "export-{n}.zip")
# (action, weight) for a logged-in user's next event
_SESSION_ACTIONS = (("view", 62), ("purchase", 8), ("download", 10), ("logout", 6))


@dataclass(frozen=True, slots=True)
class GeneratorConfig:
    """What :class:`LogGenerator` produces; the same config always gives the same lines.

    Attributes:
        users: number of distinct users (``user-000`` ...).
        events: lines to produce (malformed ones included); ``None`` is unbounded.
        seed: seed of the generator's ``random.Random``.
        start_ms: event time of the first event (epoch ms).
        mean_gap_ms: mean event-time gap between consecutive events.
        out_of_order: share of events a few seconds behind (never late).
        late: share of events far behind (late data for the windows).
        malformed: share of lines that are not valid log JSON.
        anomalies: share of injected anomalies (attack bursts, quiet periods).
        rate: lines per wall-clock second, or ``None`` for as fast as possible.
    """

    users: int = 50
    events: int | None = None
    seed: int = 0
    start_ms: int = 1_700_000_000_000
    mean_gap_ms: int = 200
    out_of_order: float = 0.05
    late: float = 0.002
    malformed: float = 0.002
    anomalies: float = 0.01
    rate: float | None = None

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.users, int) or self.users < 1:
            problems.append(f"users must be an int >= 1, got {self.users!r}")
        if self.events is not None and (not isinstance(self.events, int) or self.events < 0):
            problems.append(f"events must be None or an int >= 0, got {self.events!r}")
        if not isinstance(self.mean_gap_ms, int) or self.mean_gap_ms < 1:
            problems.append(f"mean_gap_ms must be an int >= 1, got {self.mean_gap_ms!r}")
        shares = {"out_of_order": self.out_of_order, "late": self.late,
                  "malformed": self.malformed, "anomalies": self.anomalies}
        for name, share in shares.items():
            if not isinstance(share, (int, float)) or not 0 <= share <= 1:
                problems.append(f"{name} must be a share between 0 and 1, got {share!r}")
        if sum(s for s in shares.values() if isinstance(s, (int, float))) > 1:
            problems.append(f"the shares {shares} add up to more than 1")
        if self.rate is not None and (not isinstance(self.rate, (int, float)) or self.rate <= 0):
            problems.append(f"rate must be None or a positive number of lines per second, "
                            f"got {self.rate!r}")
        if problems:
            msg = "GeneratorConfig: " + "; ".join(problems)
            raise ValueError(msg)


class _User:
    __slots__ = ("user_id", "session_id", "ip", "agent")

    def __init__(self, user_id: str, ip: str, agent: str) -> None:
        self.user_id, self.session_id, self.ip, self.agent = user_id, None, ip, agent


class _Stream:
    """The deterministic line sequence of one config (one ``random.Random``)."""

    def __init__(self, config: GeneratorConfig) -> None:
        self.config = config
        self.rng = rng = random.Random(config.seed)
        self.now = config.start_ms  # the newest event time so far
        self.users = [_User(f"user-{i:03d}", self._ip(), rng.choice(_AGENTS))
                      for i in range(config.users)]
        self.pending: deque[str] = deque()
        self.history: deque[int] = deque(maxlen=LATE_LINES)  # the newest time, per line

    def _ip(self) -> str:
        r = self.rng
        return f"{r.choice((10, 172, 192, 203))}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"

    def _advance(self) -> int:
        gap = self.rng.expovariate(1 / self.config.mean_gap_ms)
        self.now += max(1, round(gap))
        return self.now

    def _event(self, ts: int, user: _User, action: str, **extra: Any) -> dict[str, Any]:
        event = {"timestamp": ts, "user_id": user.user_id, "session_id": user.session_id,
                 "action": action, "ip": user.ip, "user_agent": user.agent}
        n = self.rng.randrange(1, 500)
        if action == "view":
            event["path"] = self.rng.choice(_PAGES).format(n=n)
        elif action == "purchase":
            event["amount_cents"] = self.rng.randrange(199, 50_000)
        elif action == "download":
            event["file"] = self.rng.choice(_FILES).format(n=n)
        elif action == "login_failed":
            event["reason"] = "bad_password"
        event.update(extra)
        return event

    def _ordinary(self, ts: int) -> dict[str, Any]:
        """The next action of a random user; logs in and out change the user's session."""
        rng = self.rng
        user = rng.choice(self.users)
        if user.session_id is None:
            if rng.random() < 0.04:
                return self._event(ts, user, "login_failed")
            user.session_id = f"s-{rng.getrandbits(40):010x}"
            if rng.random() < 0.2:
                user.ip = self._ip()
            return self._event(ts, user, "login")
        actions, weights = zip(*_SESSION_ACTIONS, strict=True)
        action = rng.choices(actions, weights)[0]
        event = self._event(ts, user, action)
        if action == "logout":
            user.session_id = None
        return event

    def _malformed(self) -> str:
        rng = self.rng
        event = self._event(self.now, rng.choice(self.users), "view")
        kind = rng.randrange(5)
        if kind == 0:  # truncated line
            line = json.dumps(event)
            return line[: rng.randrange(1, len(line) - 1)]
        if kind == 1:
            return json.dumps([event["timestamp"], event["user_id"], event["action"]])
        if kind == 2:
            del event[rng.choice(("timestamp", "user_id", "action"))]
        elif kind == 3:
            event["timestamp"] = str(event["timestamp"])
        else:
            event["action"] = rng.choice(("hack", "LOGIN", ""))
        return json.dumps(event)

    def _burst(self) -> list[dict[str, Any]]:
        rng = self.rng
        user = rng.choice(self.users)
        attacker = _User(user.user_id, f"{rng.choice((45, 91, 185))}.{rng.randrange(256)}."
                         f"{rng.randrange(256)}.{rng.randrange(1, 255)}", rng.choice(_ATTACK_AGENTS))
        events = []
        for _ in range(rng.randint(5, 8)):
            self.now += rng.randint(1_000, 20_000)
            events.append(self._event(self.now, attacker, "login_failed", reason="bad_password"))
        return events

    def next_line(self) -> str:
        """The next line of the stream."""
        self.history.append(self.now)
        return self._next_line()

    def _next_line(self) -> str:
        if self.pending:
            return self.pending.popleft()
        c, rng = self.config, self.rng
        r = rng.random()
        if r < c.malformed:
            return self._malformed()
        r -= c.malformed
        if r < c.late:
            lag = rng.randint(LATE_MIN_MS, LATE_MAX_MS)
            ts = self.history[0] - lag if len(self.history) == LATE_LINES else c.start_ms - 1
            if ts >= c.start_ms:
                return json.dumps(self._ordinary(ts))
            return json.dumps(self._ordinary(self._advance()))
        r -= c.late
        if r < c.out_of_order:
            return json.dumps(self._ordinary(self.now - rng.randint(1, MAX_OUT_OF_ORDER_MS)))
        r -= c.out_of_order
        if r < c.anomalies:
            if rng.randrange(QUIET_PERIOD_ONE_IN) == 0:
                self.now += rng.randint(QUIET_MIN_MS, QUIET_MAX_MS)
                return json.dumps(self._ordinary(self.now))
            first, *rest = self._burst()
            self.pending.extend(json.dumps(e) for e in rest)
            return json.dumps(first)
        return json.dumps(self._ordinary(self._advance()))


class LogGenerator(Source):
    """A resumable, non-parallel source of the JSON log lines :class:`GeneratorConfig` describes.

    One split; its position is the number of lines already emitted, so after a failure or from
    a savepoint reading resumes at the next line (the lines before are regenerated and skipped,
    which costs time proportional to the position). Bounded when ``config.events`` is set.

    Example:
        >>> env.from_source(LogGenerator(GeneratorConfig(events=1000)),  # doctest: +SKIP
        ...                 WatermarkStrategy.no_watermarks(), "logs")
    """

    parallel = False

    def __init__(self, config: GeneratorConfig) -> None:
        if not isinstance(config, GeneratorConfig):
            msg = f"LogGenerator: expected a GeneratorConfig, got {type(config).__name__}"
            raise TypeError(msg)
        self.config = config
        self.bounded = config.events is not None

    def splits(self, parallelism: int) -> Sequence[str]:
        """One split: the whole stream."""
        return ["logs"]

    def read_split(self, split: Any, position: int) -> Iterator[str]:
        """The lines after the first ``position`` (paced to ``config.rate`` lines per second)."""
        return self.lines(position)

    def lines(self, position: int = 0) -> Iterator[str]:
        """The lines from ``position`` on, paced to ``config.rate`` if set."""
        stream, total, rate = _Stream(self.config), self.config.events, self.config.rate
        index = 0
        while total is None or index < total:
            line = stream.next_line()
            index += 1
            if index <= position:
                continue
            if rate is not None:
                if index == position + 1:
                    started = time.monotonic()
                delay = started + (index - position - 1) / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield line
