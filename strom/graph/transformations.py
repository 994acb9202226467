"""The logical plan: one frozen Transformation per DataStream operation, as pure data.

The API appends transformations to the environment; nothing runs until ``execute``. Physical
transformations (sources, one- and two-input operators) become operators; virtual ones
(partitioning, union, side output) only shape the edges between them, as in Flink.
"""
from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class Kind(enum.Enum):
    """What a transformation is."""

    SOURCE = "source"
    ONE_INPUT = "one_input"
    TWO_INPUT = "two_input"
    PARTITION = "partition"
    UNION = "union"
    SIDE_OUTPUT = "side_output"

    @property
    def physical(self) -> bool:
        return self in (Kind.SOURCE, Kind.ONE_INPUT, Kind.TWO_INPUT)


class Chaining(enum.Enum):
    """Flink's ChainingStrategy: may this operator be chained to its predecessor / successor."""

    ALWAYS = "always"
    HEAD = "head"      # starts a new chain, successors may chain to it
    NEVER = "never"    # neither side chains


@dataclass(frozen=True, slots=True)
class Transformation:
    """One node of the logical plan.

    Attributes:
        operator_factory: builds a fresh operator for one subtask (physical kinds only).
        partitioner: for PARTITION, how records are distributed downstream.
        tag: for SIDE_OUTPUT, the side output's tag id.
        non_parallel: a source that must run with parallelism 1 (from_collection, a SourceFunction).
        check_output: the user declared ``output_type``; records are validated against it.
    """

    id: int
    kind: Kind
    name: str
    inputs: tuple[int, ...] = ()
    parallelism: int | None = None
    max_parallelism: int | None = None
    operator_factory: Callable[[], Any] | None = None
    partitioner: Any = None
    tag: str | None = None
    output_type: Any = None
    uid: str | None = None
    chaining: Chaining = Chaining.ALWAYS
    slot_sharing_group: str | None = None
    non_parallel: bool = False
    is_sink: bool = False
    description: str | None = None
    check_output: bool = False  # validate every output record against output_type
    buffer_timeout: int | None = None  # ms; None: the job's (env.set_buffer_timeout)

    @property
    def operator_id(self) -> str:
        """The id that matches this operator's state in checkpoints and savepoints: the user's
        ``uid()``, else one generated from its position in the program and its name (stable as
        long as the program does not change; set ``uid()`` on stateful operators to keep their
        state across changes)."""
        return self.uid if self.uid else f"auto-{self.id}-{self.name}"
