"""The ``remote`` execution target: ``env.execute()`` submits the job to a session cluster over
REST instead of running it (``strom run -d job.py``, or ``-D execution.target=remote``).

Detached (``execution.attached: false``, what ``strom run -d`` sets) it prints ``Job has been
submitted with JobID <id>`` and returns at once; attached (the default) it polls the job until
it ends and returns its result, raises ``JobExecutionError`` with the cluster's traceback if it
failed, and cancels the remote job if the local one is cancelled (``JobClient.cancel`` after
``execute_async``, or Ctrl-C).

The cluster is found as :func:`strom.cluster.client.endpoint` says (``rest.address``,
``rest.port``, the cluster file). The job is cloudpickled here, so a function that cannot be
pickled fails the submission with a ``JobDefinitionError`` naming it; modules imported from the
job script's directory travel with it by value (the cluster need not have them).
"""
from __future__ import annotations

import concurrent.futures
import os
import sys
import threading
from dataclasses import dataclass
from typing import Any

from strom.cluster.client import RestClient, endpoint
from strom.cluster.submission import CONTENT_TYPE, JobSubmission, pack, ship_local_modules
from strom.errors import CheckpointError, ClusterError, JobExecutionError
from strom.runtime.job import JobControl, JobExecutionResult, JobStatus

POLL_SECONDS = 0.2
_NOT_SHIPPED = ("execution.target", "execution.attached", "rest.token")  # the token stays here


@dataclass(frozen=True)
class _SavepointDefaults:
    savepoint_dir: str | None


class ClusterSavepoints:
    """Stands in for the checkpoint coordinator of a job running on a session cluster, so that
    ``JobClient.trigger_savepoint`` / ``stop_with_savepoint`` / ``checkpoints`` of an attached
    remote job ask the cluster (``POST /jobs/:id/savepoints`` or ``/stop``, then poll)."""

    def __init__(self, client: RestClient, job_id: str, savepoint_dir: str | None) -> None:
        self.client = client
        self.job_id = job_id
        self.storage = _SavepointDefaults(savepoint_dir)
        self.pending: list[concurrent.futures.Future] = []

    def trigger_savepoint(self, directory: str | None, stop: str | None
                          ) -> concurrent.futures.Future:
        """Ask the cluster for a savepoint (``stop``: None, "suspend" or "terminate"); the
        future's result is its location."""
        future: concurrent.futures.Future = concurrent.futures.Future()

        def run() -> None:
            try:
                if stop is None:
                    request = self.client.trigger_savepoint(self.job_id, directory)
                else:
                    request = self.client.stop(self.job_id, directory, drain=stop == "terminate")
                future.set_result(self.client.wait_savepoint(self.job_id, request,
                                                             timeout=3600.0))
            except ClusterError as exc:
                future.set_exception(CheckpointError(str(exc)))
            except Exception as exc:  # noqa: BLE001 - handed to whoever waits on the future
                future.set_exception(exc)

        self.pending.append(future)
        threading.Thread(target=run, name=f"strom savepoint {self.job_id}", daemon=True).start()
        return future

    def settle(self, timeout: float = 10.0) -> None:
        """Wait (up to ``timeout`` s) for the answers to savepoints asked for so far: a
        savepoint that ended the job is complete on the cluster before the job's end is seen
        here, and its client must get the location, not "the job ended first"."""
        concurrent.futures.wait(self.pending, timeout)

    def summary(self) -> dict[str, Any]:
        """The cluster's ``GET /jobs/:id/checkpoints``."""
        return self.client.checkpoints(self.job_id)


class RemoteExecutor:
    """Submits jobs to a session cluster (registered as ``remote`` in the executors)."""

    name = "remote"
    chains_single_subtask_exchanges = False

    def __init__(self, clock: Any, config: dict[str, Any] | None = None) -> None:
        self.clock = clock
        self.config = dict(config or {})

    def _settings(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in (self.config.get("configuration") or {}).items()}

    def run(self, graph: Any, control: JobControl,
            job_parameters: dict[str, str] | None = None) -> JobExecutionResult:
        """Submit the job; detached: return at once, attached: wait for its end."""
        settings = self._settings()
        config = dict(self.config)
        config["configuration"] = {k: v for k, v in settings.items() if k not in _NOT_SHIPPED}
        if sys.argv and sys.argv[0] and os.path.isfile(sys.argv[0]):  # the job script's modules
            ship_local_modules(os.path.dirname(os.path.abspath(sys.argv[0])))
        payload = pack(JobSubmission(graph.job_name, graph, config, job_parameters))
        client = RestClient(endpoint(settings))
        job_id = client.submit(payload, CONTENT_TYPE)
        control.job_id = job_id
        control.status = JobStatus.RUNNING
        attached = settings.get("execution.attached", "true").strip().lower() != "false"
        if not attached:
            print(f"Job has been submitted with JobID {job_id}", flush=True)
            control.result = JobExecutionResult(job_id, 0)
            control.done.set()
            return control.result
        print(f"Job has been submitted with JobID {job_id}; waiting for it to end",
              file=sys.stderr, flush=True)
        cc = self.config.get("checkpoint_config")
        control.coordinator = ClusterSavepoints(client, job_id, getattr(cc, "savepoint_dir", None))
        return self._follow(client, control)

    def _follow(self, client: RestClient, control: JobControl) -> JobExecutionResult:
        """Poll the job until it ends, mirroring its state into ``control``."""
        job_id = control.job_id
        cancel_sent = False
        try:
            while True:
                if control.cancel_requested.is_set() and not cancel_sent:
                    client.cancel(job_id)
                    cancel_sent = True
                details = client.job(job_id)
                state = details["state"]
                if state in JobStatus.__members__:
                    control.status = JobStatus[state]
                if control.status.is_globally_terminal_state():
                    break
                control.cancel_requested.wait(POLL_SECONDS)
        except KeyboardInterrupt:
            try:  # `strom run` says that the job was cancelled
                client.cancel(job_id)
            except ClusterError as exc:
                print(f"could not cancel job {job_id} on the cluster: {exc}", file=sys.stderr)
            raise
        if isinstance(control.coordinator, ClusterSavepoints):
            control.coordinator.settle()
        if control.status is JobStatus.FAILED:
            failure = client.exceptions(job_id)
            text = failure.get("root-exception") or "(no exception was recorded)"
            control.error = JobExecutionError(
                f"job '{control.job_name}' ({job_id}) failed on the cluster at "
                f"{client.endpoint.url}; the cluster's traceback:\n{text}")
        else:
            summary = client.checkpoints(job_id)
            control.result = JobExecutionResult(job_id, int(details.get("duration", 0)),
                                                checkpoints=summary)
        control.done.set()
        return control.wait()
