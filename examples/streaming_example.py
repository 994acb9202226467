"""A small streaming job: detect repeated failed logins per user with keyed state and timers.

Runs on the embedded runtime with ``strom run examples/streaming_example.py``. Written against
PyFlink's API (``pyflink`` imports are served by strom), so it runs on PyFlink unchanged too.
"""
from pyflink.common.typeinfo import Types
from pyflink.datastream import KeyedProcessFunction, OutputTag, StreamExecutionEnvironment
from pyflink.datastream.state import ValueStateDescriptor

USERS = ["alice", "bob", "carol", "dave"]
ACTIONS = ["login", "view", "login_failed", "login_failed", "purchase", "logout"]
ALERTS = OutputTag("alerts", Types.STRING())


def log_events(n):
    """A deterministic stream of (user, action, timestamp_ms) events."""
    for i in range(n):
        yield USERS[(i * 7) % len(USERS)], ACTIONS[(i * 5) % len(ACTIONS)], 1_700_000_000_000 + i * 250


class FailedLogins(KeyedProcessFunction):
    """Counts failed logins per user; alerts on the 3rd in a row and reports each user's total at the end."""

    def open(self, runtime_context):
        self.failures = runtime_context.get_state(ValueStateDescriptor("failures", Types.INT()))
        self.events = runtime_context.get_state(ValueStateDescriptor("events", Types.LONG()))

    def process_element(self, event, ctx):
        user, action, ts = event
        self.events.update((self.events.value() or 0) + 1)
        if action == "login_failed":
            failures = (self.failures.value() or 0) + 1
            self.failures.update(failures)
            if failures == 3:
                yield ALERTS, f"ALERT {user}: 3 failed logins in a row (at {ts})"
        elif action == "login":
            self.failures.clear()
        # one summary per user when event time passes the end of the stream
        ctx.timer_service().register_event_time_timer(2**62)

    def on_timer(self, timestamp, ctx):
        yield f"{ctx.get_current_key()}: {self.events.value()} events"


def main():
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(2)
    events = env.from_collection(log_events(2_000))
    per_user = events.key_by(lambda e: e[0]).process(FailedLogins(), output_type=Types.STRING())
    per_user.print("summary")
    per_user.get_side_output(ALERTS).print("alerts")
    env.execute("failed-login detection")


if __name__ == "__main__":
    main()
