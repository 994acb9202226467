"""What a running operator knows about its place in the job, and the RuntimeContext users see.

:class:`TaskInfo` is the task-level environment an operator is set up with (subtask index,
parallelism, clock, processing-time service, metrics). :class:`StreamingRuntimeContext` is
PyFlink's ``RuntimeContext`` (its method names are kept so PyFlink functions port unchanged).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from strom.errors import StateAccessError
from strom.metrics import MetricGroup
from strom.runtime.processing_time import ProcessingTimeService
from strom.time.clock import Clock


@dataclass(slots=True)
class TaskInfo:
    """The task an operator runs in. One per subtask; shared by the operators of its chain."""

    task_name: str
    subtask_index: int
    parallelism: int
    max_parallelism: int
    clock: Clock
    processing_time: ProcessingTimeService
    metrics: MetricGroup
    job_parameters: dict[str, str] = field(default_factory=dict)
    attempt_number: int = 0
    config: dict[str, Any] = field(default_factory=dict)
    # Thread-safe: run an action on the task's thread at its next step, waking it (the task's
    # mailbox, set by StreamTask). None outside a task (test harnesses).
    post: Any = None
    # sink id -> deliver(value): where execute_and_collect's records go (strom.runtime.results)
    results: Any = None


class StreamingRuntimeContext:
    """PyFlink's ``RuntimeContext``: subtask facts, job parameters, metrics and keyed state.

    Example:
        >>> class Count(KeyedProcessFunction):  # doctest: +SKIP
        ...     def open(self, runtime_context):
        ...         self.count = runtime_context.get_state(ValueStateDescriptor("n", Types.LONG()))
    """

    def __init__(self, operator_name: str, info: TaskInfo, backend: Any, metrics: MetricGroup) -> None:
        self._operator_name = operator_name
        self._info = info
        self._backend = backend
        self._metrics = metrics

    # -- facts about the task (PyFlink names) --
    def get_task_name(self) -> str:
        return self._info.task_name

    def get_number_of_parallel_subtasks(self) -> int:
        return self._info.parallelism

    def get_max_number_of_parallel_subtasks(self) -> int:
        return self._info.max_parallelism

    def get_index_of_this_subtask(self) -> int:
        return self._info.subtask_index

    def get_attempt_number(self) -> int:
        return self._info.attempt_number

    def get_task_name_with_subtasks(self) -> str:
        info = self._info
        return f"{info.task_name} ({info.subtask_index + 1}/{info.parallelism})"

    def get_job_parameter(self, key: str, default_value: str | None = None) -> str | None:
        return self._info.job_parameters.get(key, default_value)

    def get_metrics_group(self) -> MetricGroup:
        return self._metrics

    # -- keyed state --
    def _keyed_backend(self, what: str) -> Any:
        if self._backend is None:
            msg = (f"operator '{self._operator_name}': {what} is only available on a keyed stream; "
                   "the stream was not keyed. Hint: call key_by(...) before this operator.")
            raise StateAccessError(msg)
        return self._backend

    def get_state(self, state_descriptor: Any) -> Any:
        return self._keyed_backend("ValueState").state(state_descriptor)

    def get_list_state(self, state_descriptor: Any) -> Any:
        return self._keyed_backend("ListState").state(state_descriptor)

    def get_map_state(self, state_descriptor: Any) -> Any:
        return self._keyed_backend("MapState").state(state_descriptor)

    def get_reducing_state(self, state_descriptor: Any) -> Any:
        return self._keyed_backend("ReducingState").state(state_descriptor)

    def get_aggregating_state(self, state_descriptor: Any) -> Any:
        return self._keyed_backend("AggregatingState").state(state_descriptor)
