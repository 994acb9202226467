"""Every exception strom raises, in one tree.

::

    StromError
    ├── JobDefinitionError        the program is wrong before it runs (graph-building time)
    │   ├── InvalidTypeError      an unknown or mismatched type information
    │   └── UnsupportedError      a feature strom does not provide (names the alternative);
    │                             also importable as UnsupportedFeatureError
    ├── StateAccessError          keyed state or timers used outside a keyed context
    ├── InvalidKeyError           a key that cannot be partitioned (unhashable, unstable)
    ├── UserFunctionError         a user function raised; names operator and element/key,
    │                             the original exception is ``__cause__``
    ├── InputFormatError          a source's input could not be parsed; names the file (or
    │                             partition), the line or position and why
    ├── JobExecutionError         the job failed at run time (wraps the first failure)
    ├── CheckpointError           a checkpoint could not be written, found or restored
    │   ├── CheckpointCorruptedError  a state file or _metadata does not match its manifest
    │   └── StateMigrationError   restored state does not fit the job (also an InvalidTypeError)
    ├── JobCancelledError         the job was cancelled while a caller waited for it
    └── ClusterError              a session cluster is unreachable or refused a request
        └── JobNotFoundError      no job with that id (REST: 404)

Messages name the operator, key or input, what was expected, what came instead and a hint.
"""
from __future__ import annotations


class StromError(Exception):
    """Root of every exception strom raises."""


class JobDefinitionError(StromError):
    """The job is wrong before it runs: raised while the graph is built."""


class InvalidTypeError(JobDefinitionError, TypeError):
    """Type information is unknown, or a value does not match the declared type."""


class UnsupportedError(JobDefinitionError):
    """A feature strom does not provide; the message names what to use instead."""


UnsupportedFeatureError = UnsupportedError
"""The same class under the name the project's guidelines use for it."""


class StateAccessError(StromError):
    """Keyed state or timers were used where there is no current key."""


class InvalidKeyError(StromError, TypeError):
    """A key cannot be assigned to a key group (for example it is unhashable)."""


class UserFunctionError(StromError):
    """A user function raised. ``__cause__`` holds the original exception and traceback.

    Attributes:
        operator: the operator's name as shown in the job graph.
        element: the element being processed (or ``None`` for timers/lifecycle calls).
        key: the current key when the operator is keyed, else ``None``.
    """

    def __init__(self, msg: str, *, operator: str = "", element: object = None,
                 key: object = None) -> None:
        super().__init__(msg)
        self.operator = operator
        self.element = element
        self.key = key


class InputFormatError(StromError):
    """A source read input it cannot parse (a malformed CSV row or JSON line, ...); the
    message names the file or partition, the line or position, and what was wrong."""


class JobExecutionError(StromError):
    """The job failed while running; ``__cause__`` is the first failure."""


class JobCancelledError(StromError):
    """The job was cancelled while a caller waited for its result."""


class CheckpointError(StromError):
    """A checkpoint or savepoint could not be written, found, read or restored.

    Attributes:
        checkpoint: the checkpoint's path (``chk-<n>`` or savepoint directory), or ``""``.
    """

    def __init__(self, msg: str, *, checkpoint: str = "") -> None:
        super().__init__(msg)
        self.checkpoint = checkpoint


class StateMigrationError(CheckpointError, InvalidTypeError):
    """Restored state does not fit the job (a state registered as another kind than the
    checkpoint holds); a restart cannot fix it, so the job fails at once."""


class CheckpointCorruptedError(CheckpointError):
    """A checkpoint's state file or ``_metadata`` is missing, truncated or altered.

    Attributes:
        checkpoint: the checkpoint's path.
        file: the file that failed (a state file name, or ``"_metadata"``).
    """

    def __init__(self, msg: str, *, checkpoint: str = "", file: str = "") -> None:
        super().__init__(msg, checkpoint=checkpoint)
        self.file = file


class ClusterError(StromError):
    """A session cluster could not be reached, or it refused a request (the message says which
    cluster, what was asked and what it answered).

    Attributes:
        status: the HTTP status the cluster answered with, or 0 when it could not be reached.
    """

    def __init__(self, msg: str, *, status: int = 0) -> None:
        super().__init__(msg)
        self.status = status


class JobNotFoundError(ClusterError, KeyError):
    """No job with that id is known to the dispatcher."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg, status=404)

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def find_cause(error: BaseException, kind: type[BaseException]) -> BaseException | None:
    """``error`` or the first exception of kind ``kind`` in its ``__cause__`` chain (which may
    loop), or None."""
    visited: set[int] = set()
    seen: BaseException | None = error
    while seen is not None and id(seen) not in visited:
        if isinstance(seen, kind):
            return seen
        visited.add(id(seen))
        seen = seen.__cause__
    return None


def describe(value: object, limit: int = 200) -> str:
    """A short, safe ``repr`` of a value for error messages."""
    try:
        text = repr(value)
    except Exception as exc:  # a user __repr__ may itself raise
        text = f"<{type(value).__name__} with failing repr: {exc!r}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."
