"""A TaskManager process: task slots that run the subtasks a JobManager deploys to them.

Started as ``python -m strom.cluster.taskmanager --jobmanager HOST:PORT --slots N`` (the local
mini-cluster and the session cluster start it; it exits when its JobManager connection
closes, so a JobManager that disappears leaves no orphans). It registers its slots and its data
address, then for each job attempt it is given: builds its subtasks (``deploy``: remote
channel ends for exchanges with other TaskManagers, in-process channels between its own
subtasks), runs them on its main thread once told to ``start`` (the embedded executor's
cooperative loop: one thread per process, every core busy with one process each), relays
checkpoint triggers and notifications to its tasks, and reports task states, snapshots and
failures back. A TaskManager runs one job at a time.
"""
from __future__ import annotations

import argparse
import os
import queue
import signal
import socket
import sys
import threading
import time
from collections import deque
from typing import Any

import cloudpickle

from strom.cluster.process_status import ProcessStatus
from strom.cluster.protocol import TASKMANAGER_HEARTBEAT_MS, Connection, pack_error
from strom.metrics import MetricRegistry
from strom.runtime.deploy import BOTH, CONSUMER, ChannelSpec, build_tasks, local_channel
from strom.runtime.executors.inline import InlineExecutor
from strom.runtime.network import NetworkEnvironment
from strom.time.clock import SystemClock

HEARTBEAT_S = TASKMANAGER_HEARTBEAT_MS / 1000


class _Control:
    """What the embedded loop needs of a job control: cancel and wake-up events (the
    network's, so that the loop also wakes when a frame arrives)."""

    def __init__(self, wakeup: Any) -> None:
        self.cancel_requested = threading.Event()
        self.wakeup = wakeup
        self.status: Any = None


class _Coordinator:
    """The checkpoint coordinator as a task sees it, forwarding to the JobManager (in order, on
    the outbox thread, which also pickles the snapshots off the task's thread)."""

    def __init__(self, tm: TaskManager, attempt: Any) -> None:
        self.tm, self.attempt = tm, attempt

    def acknowledge(self, task_id: str, checkpoint_id: int, snapshot: Any) -> None:
        self.tm.post(lambda: ("ack", self.attempt, task_id, checkpoint_id, snapshot.serialized()))

    def decline(self, task_id: str, checkpoint_id: int, reason: Any) -> None:
        self.tm.post(lambda: ("decline", self.attempt, task_id, checkpoint_id, str(reason)))

    def task_finished(self, task_id: str, snapshot: Any, failure: BaseException | None = None) -> None:
        def message() -> tuple:
            try:
                data = None if snapshot is None else snapshot.serialized()
            except Exception as exc:  # unpicklable state: the JobManager counts the failure
                return ("final", self.attempt, task_id, None, str(exc))
            return ("final", self.attempt, task_id, data, None if failure is None else str(failure))
        self.tm.post(message)

    # the loop's coordinator hooks (see InlineExecutor._loop)
    def tick(self) -> None:
        self.tm.network.poll()
        self.tm.run_commands()

    def next_deadline(self) -> int | None:
        return None


class TaskManager:
    """One TaskManager process's state: its JobManager connection, network and current job."""

    def __init__(self, jobmanager: tuple[str, int], slots: int, tm_id: str, host: str) -> None:
        self.tm_id = tm_id
        self.slots = slots
        self.clock = SystemClock()
        self.process_status = ProcessStatus()  # sampled with every heartbeat
        self.conn = Connection(socket.create_connection(jobmanager))
        self.network = NetworkEnvironment(host, on_error=self._network_failed)
        self.commands: deque[tuple] = deque()
        self.outbox: queue.Queue = queue.Queue()
        self.wake = threading.Event()
        self.attempt: Any = None
        self.tasks: list[Any] = []
        self.by_id: dict[str, Any] = {}
        self.control = _Control(self.network.wakeup)
        self.reported: set[str] = set()
        self.running = False
        self.alive = True
        self.results: dict[str, list] = {}  # collected records not shipped yet, per receiver
        self.registry: MetricRegistry | None = None

    # -- threads ------------------------------------------------------------------------------

    def post(self, make_message: Any) -> None:
        """Send a message to the JobManager from the outbox thread (in posting order)."""
        self.outbox.put(make_message)

    def _send_loop(self) -> None:
        while True:
            make = self.outbox.get()
            if make is None:
                return
            try:
                self.conn.send(*make())
            except OSError:
                return

    def _receive_loop(self) -> None:
        """Commands from the JobManager, handed to the main thread; EOF ends the process."""
        try:
            while True:
                message = self.conn.receive()
                if message is None:
                    break
                self.commands.append(message)
                self.wake.set()
                self.control.wakeup.set()
        except OSError:
            pass
        self.alive = False
        self.control.cancel_requested.set()
        self.wake.set()
        self.control.wakeup.set()

    def _heartbeat_loop(self) -> None:
        while self.alive:
            self.post(lambda: ("heartbeat", self.attempt, self._metrics(),
                               self.process_status.sample()))
            time.sleep(HEARTBEAT_S)

    def _network_failed(self, exc: BaseException) -> None:
        self.commands.append(("network-failed", self.attempt, exc))
        self.control.wakeup.set()
        self.wake.set()

    # -- main thread --------------------------------------------------------------------------

    def serve(self) -> None:
        self.conn.send("register", self.tm_id, self.slots, self.network.address, os.getpid())
        for target in (self._send_loop, self._receive_loop, self._heartbeat_loop):
            threading.Thread(target=target, daemon=True, name=f"strom tm {target.__name__}").start()
        while self.alive:
            self.wake.wait(1.0)
            self.wake.clear()
            self.run_commands()
            if self.running:
                self._run()
        self.network.close()
        self.outbox.put(None)

    def _result_buffer(self, sink_id: str) -> Any:
        """A collect sink's receiver here: a buffer shipped to the JobManager every round."""
        return self.results.setdefault(sink_id, []).append

    def _ship_results(self) -> None:
        for sink_id, values in self.results.items():
            if values:
                message = ("results", self.attempt, sink_id, values.copy())
                values.clear()
                self.post(lambda m=message: m)

    def run_commands(self) -> None:
        """Apply the JobManager's commands (main thread: between task steps)."""
        self._ship_results()
        while self.commands:
            message = self.commands.popleft()
            kind = message[0]
            if kind == "shutdown":
                self.alive = False
                self.control.cancel_requested.set()
                continue
            if kind == "deploy":
                self._deploy(message[1], message[2])
                continue
            if message[1] != self.attempt:
                continue  # a message of an earlier attempt
            handler = getattr(self, "_on_" + kind.replace("-", "_"))
            handler(*message[2:])
        self._report_states()

    def _deploy(self, attempt: Any, job: bytes) -> None:
        self._teardown()
        self.attempt = attempt
        self.control = _Control(self.network.wakeup)
        self.reported = set()
        self.results = {}
        try:
            spec = cloudpickle.loads(job)
            os.environ.update(spec.get("environ") or {})
            self.network.reset(attempt)
            peers = spec["peers"]  # channel id -> data address of its consumer

            def make_channel(ch: ChannelSpec, side: str) -> Any:
                if side == BOTH:
                    return local_channel(ch, side)
                if side == CONSUMER:
                    remote = self.network.input_channel(ch.id, ch.name)
                    remote.on_push = self.control.wakeup.set
                    return remote
                remote = self.network.output_channel(ch.id, ch.name, peers[ch.id])
                remote.on_credit = self.control.wakeup.set
                return remote

            restore = spec["restore"]
            self.registry = MetricRegistry(self.clock)
            self.tasks = build_tasks(
                spec["graph"], self.clock, self.registry,
                job_parameters=spec["job_parameters"], batch_size=spec["batch_size"],
                make_channel=make_channel, config=spec["config"],
                coordinator=_Coordinator(self, attempt), exactly_once=spec["exactly_once"],
                final_snapshot=spec["final_snapshot"],
                restore=None if restore is None else (lambda op, s, p: restore[(op, s)]),
                attempt=spec["attempt_number"], subtasks=spec["subtasks"],
                results=self._result_buffer)
            self.by_id = {t.task_id: t for t in self.tasks}
            self.post(lambda: ("deployed", attempt, None))
        except Exception as exc:
            packed = pack_error(exc)
            self.tasks, self.by_id = [], {}
            self.post(lambda: ("deployed", attempt, packed))

    def _on_start(self) -> None:
        self.running = True

    def _run(self) -> None:
        """Run this attempt's tasks until they end, one fails, or the JobManager cancels."""
        self.running = False
        attempt = self.attempt
        executor = InlineExecutor(self.clock, {})
        error = executor._run_attempt(self.tasks, self.control, _Coordinator(self, attempt))
        self._send_last_frames()
        self._ship_results()
        self.post(lambda: ("heartbeat", attempt, self._metrics(),  # the final values first
                           self.process_status.sample()))
        self._report_states()
        if error is not None and not self.control.cancel_requested.is_set():
            failed = next((t.task_id for t in self.tasks if not t.finished), "")
            packed = pack_error(error)
            self.post(lambda: ("failed", attempt, failed, packed))

    def _send_last_frames(self) -> None:
        """The tasks ended; the frames the kernel did not take yet (say, their end of
        partition) still go to the peers, which keep reading until they have them. Ends when
        they are sent, a peer's connection breaks, or the JobManager cancels the attempt
        (as it does when a peer is lost)."""
        wakeup = self.control.wakeup
        while not self.network.poll() and self.alive and not self.control.cancel_requested.is_set():
            wakeup.clear()
            wakeup.wait(1.0)
            self.run_commands()

    def _report_states(self) -> None:
        if self.control.cancel_requested.is_set():
            return  # a cancelled attempt's tasks did not finish, whatever they did meanwhile
        for t in self.tasks:
            if t.finished and t.task_id not in self.reported:
                self.reported.add(t.task_id)
                message = ("state", self.attempt, t.task_id, "FINISHED", t.stopped)
                self.post(lambda m=message: m)

    def _on_trigger(self, task_id: str, barrier: Any) -> None:
        self.by_id[task_id].trigger_checkpoint(barrier)

    def _on_due(self, task_id: str, due: int | None) -> None:
        self.by_id[task_id].checkpoint_due = due

    def _on_notify(self, task_id: str, checkpoint_id: int, complete: bool) -> None:
        task = self.by_id[task_id]
        if complete:
            task.notify_checkpoint_complete(checkpoint_id)
        else:
            task.notify_checkpoint_aborted(checkpoint_id)

    def _on_cancel(self) -> None:
        """Stop stepping the tasks (the loop returns at its next round). The sources are not
        cancelled here: a cancelled source ends its input, which would finish the tasks and
        fire end-of-input timers; ``close`` stops them."""
        self.control.cancel_requested.set()

    def _on_close(self) -> None:
        errors = {}
        for t in self.tasks:
            t.cancel()
            errs = t.close()
            if errs:
                errors[t.task_id] = [pack_error(e) for e in errs]
        attempt = self.attempt
        self.post(lambda: ("closed", attempt, errors))
        self.tasks, self.by_id = [], {}

    def _on_network_failed(self, exc: BaseException) -> None:
        if self.tasks and not self.control.cancel_requested.is_set():
            packed = pack_error(exc)
            self.post(lambda: ("failed", self.attempt, "", packed))

    def _teardown(self) -> None:
        for t in self.tasks:
            t.cancel()
            t.close()
        self.tasks, self.by_id = [], {}

    def _metrics(self) -> dict[str, Any]:
        """Every metric of the current job's subtasks here, by name, with its current value
        (the JobManager mirrors them; read on the heartbeat thread, so a value may be a step
        old)."""
        registry = self.registry
        values: dict[str, Any] = {}
        if registry is None:
            return values
        for name, value in registry.values().items():  # meters' rates, distributions' sums too
            if isinstance(value, (int, float, str, bool)) or value is None:
                values[name] = value
        return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m strom.cluster.taskmanager",
                                     description="Run a strom TaskManager process.")
    parser.add_argument("--jobmanager", required=True, help="HOST:PORT of the JobManager")
    parser.add_argument("--slots", type=int, default=1, help="task slots (default 1)")
    parser.add_argument("--id", default=f"tm-{os.getpid()}", help="TaskManager id")
    parser.add_argument("--host", default="127.0.0.1", help="address for data connections")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the JobManager, which stops us
    host, _, port = args.jobmanager.rpartition(":")
    TaskManager((host, int(port)), args.slots, args.id, args.host).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
