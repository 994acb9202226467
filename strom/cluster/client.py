"""A client of the REST API (the CLI's ``strom list/cancel/savepoint/...`` and the ``remote``
executor), and where to find the session cluster.

The session cluster (``strom cluster start``) writes its address, port and pid to a cluster
file: ``$STROM_CLUSTER_FILE``, else ``$XDG_CACHE_HOME/strom/cluster.json``, else
``~/.cache/strom/cluster.json``. :func:`endpoint` resolves where a client talks to: the
``rest.address`` / ``rest.port`` keys when given, else the cluster file, else
``127.0.0.1:8081``; the bearer token is ``rest.token`` or ``$STROM_REST_TOKEN``.

Only the standard library is used (``urllib``), so a client needs nothing beyond strom.
"""
from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from strom.errors import ClusterError, JobNotFoundError

DEFAULT_ADDRESS = "127.0.0.1"
DEFAULT_PORT = 8081
TOKEN_ENV = "STROM_REST_TOKEN"
CLUSTER_FILE_ENV = "STROM_CLUSTER_FILE"


def cluster_file() -> str:
    """Where the session cluster records its address, port and pid."""
    path = os.environ.get(CLUSTER_FILE_ENV)
    if path:
        return path
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "strom", "cluster.json")


def read_cluster_file(path: str | None = None) -> dict[str, Any] | None:
    """The cluster file's content, or None when there is none (or it is unreadable)."""
    path = path or cluster_file()
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class Endpoint:
    """Where a REST API answers."""

    address: str = DEFAULT_ADDRESS
    port: int = DEFAULT_PORT
    token: str | None = None

    @property
    def url(self) -> str:
        """``http://address:port``."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"http://{host}:{self.port}"


def endpoint(config: dict[str, str] | None = None, path: str | None = None) -> Endpoint:
    """The cluster a client talks to: ``rest.address``/``rest.port`` in ``config``, else the
    cluster file (``path``), else 127.0.0.1:8081."""
    config = config or {}
    token = config.get("rest.token") or os.environ.get(TOKEN_ENV) or None
    recorded = read_cluster_file(path) or {}
    address = config.get("rest.address") or recorded.get("address") or DEFAULT_ADDRESS
    port = config.get("rest.port") or recorded.get("port") or DEFAULT_PORT
    try:
        port = int(port)
    except (TypeError, ValueError):
        raise ClusterError(f"rest.port must be a port number, got {port!r}; e.g. "
                           "-D rest.port=8081") from None
    return Endpoint(str(address), port, token)


class RestClient:
    """Calls the REST API of one cluster; errors are ``ClusterError`` (``JobNotFoundError``
    for an unknown job) carrying the cluster's message."""

    def __init__(self, where: Endpoint | None = None, timeout: float = 10.0) -> None:
        self.endpoint = where or endpoint()
        self.timeout = timeout

    def request(self, method: str, path: str, body: Any = None,
                content_type: str = "application/json") -> Any:
        """``method path`` with ``body`` (JSON-encoded unless bytes); the decoded answer."""
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.endpoint.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", content_type)
        if self.endpoint.token:
            req.add_header("Authorization", f"Bearer {self.endpoint.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise self._refused(method, path, exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ClusterError(f"cannot reach the cluster at {self.endpoint.url} ({reason}); "
                               "hint: start one with `strom cluster start`, or point to it "
                               "with -m HOST:PORT (strom list, info, cancel, ...) or -D "
                               "rest.address=... -D rest.port=... (strom run)") from None
        return json.loads(raw) if raw else None

    def _refused(self, method: str, path: str, exc: urllib.error.HTTPError) -> ClusterError:
        try:
            errors = json.loads(exc.read()).get("errors") or []
        except (ValueError, AttributeError):
            errors = []
        text = "; ".join(str(e) for e in errors) or exc.reason
        message = f"{method} {path} on {self.endpoint.url} failed ({exc.code}): {text}"
        if exc.code == 404 and path.startswith("/jobs/"):
            return JobNotFoundError(message)
        if exc.code == 401:
            message += f" (set the token in {TOKEN_ENV} or with -D rest.token=...)"
        return ClusterError(message, status=exc.code)

    # -- calls --------------------------------------------------------------------------------

    def overview(self) -> dict[str, Any]:
        """``GET /overview``."""
        return self.request("GET", "/overview")

    def jobs_overview(self) -> list[dict[str, Any]]:
        """``GET /jobs/overview``: every job."""
        return self.request("GET", "/jobs/overview")["jobs"]

    def job(self, job_id: str) -> dict[str, Any]:
        """``GET /jobs/:id``."""
        return self.request("GET", f"/jobs/{job_id}")

    def exceptions(self, job_id: str) -> dict[str, Any]:
        """``GET /jobs/:id/exceptions``."""
        return self.request("GET", f"/jobs/{job_id}/exceptions")

    def checkpoints(self, job_id: str) -> dict[str, Any]:
        """``GET /jobs/:id/checkpoints``."""
        return self.request("GET", f"/jobs/{job_id}/checkpoints")

    def cancel(self, job_id: str) -> None:
        """``PATCH /jobs/:id?mode=cancel``."""
        self.request("PATCH", f"/jobs/{job_id}?mode=cancel")

    def submit(self, payload: bytes, content_type: str) -> str:
        """``POST /jobs``: the job id."""
        return self.request("POST", "/jobs", payload, content_type)["jid"]

    def trigger_savepoint(self, job_id: str, target_directory: str | None = None,
                          cancel_job: bool = False) -> str:
        """``POST /jobs/:id/savepoints``: the request id."""
        body = {"target-directory": target_directory, "cancel-job": cancel_job}
        return self.request("POST", f"/jobs/{job_id}/savepoints", body)["request-id"]

    def stop(self, job_id: str, target_directory: str | None = None, drain: bool = False) -> str:
        """``POST /jobs/:id/stop``: the request id."""
        body = {"targetDirectory": target_directory, "drain": drain}
        return self.request("POST", f"/jobs/{job_id}/stop", body)["request-id"]

    def wait_savepoint(self, job_id: str, request_id: str, timeout: float = 60.0) -> str:
        """Poll the savepoint until it completes: its location; ``ClusterError`` with the
        cluster's cause if it failed, ``TimeoutError`` if it takes longer than ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            answer = self.request("GET", f"/jobs/{job_id}/savepoints/{request_id}")
            if answer["status"]["id"] == "COMPLETED":
                operation = answer.get("operation") or {}
                if operation.get("failure-cause"):
                    cause = operation["failure-cause"]
                    raise ClusterError(f"the savepoint of job {job_id} failed: "
                                       f"{cause.get('message') or cause.get('class')}")
                return operation["location"]
            if time.monotonic() > deadline:
                raise TimeoutError(f"the savepoint of job {job_id} did not complete within "
                                   f"{timeout:g} s (request {request_id})")
            time.sleep(0.1)
