"""PyFlink's ``SlotSharingGroup`` and ``MemorySize``: a named group of operators that may share
task slots, with the resources Flink's fine-grained resource management would reserve for it.

``ds.slot_sharing_group(name_or_group)`` puts an operator into a group (operators of different
groups are never chained and never share a slot); ``env.register_slot_sharing_group(group)``
declares a group's resources. strom honours the name. It reserves no CPU or memory per group:
that is Flink's behaviour too unless ``cluster.fine-grained-resource-management.enabled`` is
set, so a group with resources warns once that they are not reserved.

Example::

    >>> group = SlotSharingGroup.builder("heavy").set_cpu_cores(1.0).set_task_heap_memory_mb(100).build()
    >>> group.get_name(), group.get_task_heap_memory().get_mebi_bytes()
    ('heavy', 100)
"""
from __future__ import annotations

import functools
import warnings
from typing import Any

from strom.errors import InvalidTypeError, JobDefinitionError, UnsupportedError, describe

_KIB = 1024


@functools.total_ordering
class MemorySize:
    """A number of bytes, viewable in binary units (Flink's ``MemorySize``)."""

    def __init__(self, j_memory_size: Any = None, bytes_size: int | None = None) -> None:
        if j_memory_size is not None:
            raise UnsupportedError("MemorySize(j_memory_size): strom has no Java MemorySize to "
                                   "wrap; hint: MemorySize(bytes_size=...) or "
                                   "MemorySize.of_mebi_bytes(...)")
        if not isinstance(bytes_size, int) or isinstance(bytes_size, bool) or bytes_size < 0:
            raise InvalidTypeError(f"MemorySize: expected bytes_size as an int >= 0 but got "
                                   f"{describe(bytes_size)}")
        self._bytes = bytes_size

    @staticmethod
    def of_mebi_bytes(mebi_bytes: int) -> MemorySize:
        """``mebi_bytes`` MiB."""
        return MemorySize(bytes_size=mebi_bytes * _KIB * _KIB)

    def get_bytes(self) -> int:
        """The size in bytes."""
        return self._bytes

    def get_kibi_bytes(self) -> int:
        """The size in KiB (rounded down)."""
        return self._bytes >> 10

    def get_mebi_bytes(self) -> int:
        """The size in MiB (rounded down)."""
        return self._bytes >> 20

    def get_gibi_bytes(self) -> int:
        """The size in GiB (rounded down)."""
        return self._bytes >> 30

    def get_tebi_bytes(self) -> int:
        """The size in TiB (rounded down)."""
        return self._bytes >> 40

    def get_java_memory_size(self) -> Any:
        """Java's ``MemorySize``: not in strom (raises ``UnsupportedFeatureError``)."""
        raise UnsupportedError("MemorySize.get_java_memory_size(): strom has no Java objects; "
                               "hint: get_bytes() gives the size")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MemorySize) and other._bytes == self._bytes

    def __lt__(self, other: MemorySize) -> bool:
        if not isinstance(other, MemorySize):
            raise InvalidTypeError(f"MemorySize: cannot compare with {describe(other)}")
        return self._bytes < other._bytes

    def __hash__(self) -> int:
        return hash(self._bytes)

    def __str__(self) -> str:
        return f"{self._bytes} bytes"

    def __repr__(self) -> str:
        return f"MemorySize(bytes_size={self._bytes})"


class SlotSharingGroup:
    """A slot sharing group's name and resources; build one with :meth:`builder`."""

    def __init__(self, name: str = "default", cpu_cores: float | None = None,
                 task_heap_memory: MemorySize | None = None,
                 task_off_heap_memory: MemorySize | None = None,
                 managed_memory: MemorySize | None = None,
                 external_resources: dict[str, float] | None = None) -> None:
        if not isinstance(name, str) or not name:
            raise InvalidTypeError(f"SlotSharingGroup: expected a non-empty name but got "
                                   f"{describe(name)}")
        self._name = name
        self._cpu_cores = cpu_cores
        self._task_heap = task_heap_memory
        self._task_off_heap = task_off_heap_memory
        self._managed = managed_memory
        self._external = dict(external_resources or {})

    @staticmethod
    def builder(name: str) -> SlotSharingGroup.Builder:
        """A builder for a group named ``name``."""
        return SlotSharingGroup.Builder(name)

    def get_name(self) -> str:
        """The group's name."""
        return self._name

    def get_cpu_cores(self) -> float | None:
        """The CPU cores declared, or ``None``."""
        return self._cpu_cores

    def get_task_heap_memory(self) -> MemorySize | None:
        """The task heap memory declared, or ``None``."""
        return self._task_heap

    def get_task_off_heap_memory(self) -> MemorySize | None:
        """The task off-heap memory declared, or ``None``."""
        return self._task_off_heap

    def get_managed_memory(self) -> MemorySize | None:
        """The managed memory declared, or ``None``."""
        return self._managed

    def get_external_resources(self) -> dict[str, float]:
        """The external resources declared (name -> amount)."""
        return dict(self._external)

    def get_java_slot_sharing_group(self) -> Any:
        """Java's ``SlotSharingGroup``: not in strom (raises ``UnsupportedFeatureError``)."""
        raise UnsupportedError("SlotSharingGroup.get_java_slot_sharing_group(): strom has no "
                               "Java objects; hint: the getters give the group's settings")

    def has_resources(self) -> bool:
        """Whether any resource was declared (strom reserves none; see the module docstring)."""
        return any(r is not None for r in (self._cpu_cores, self._task_heap, self._task_off_heap,
                                           self._managed)) or bool(self._external)

    def _key(self) -> tuple:
        return (self._name, self._cpu_cores, self._task_heap, self._task_off_heap, self._managed,
                tuple(sorted(self._external.items())))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SlotSharingGroup) and other._key() == self._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"SlotSharingGroup({self._name!r})"

    class Builder:
        """Sets a group's resources; :meth:`build` makes the group."""

        def __init__(self, name: str = "default") -> None:
            self._name = name
            self._cpu: float | None = None
            self._heap: MemorySize | None = None
            self._off_heap: MemorySize | None = None
            self._managed: MemorySize | None = None
            self._external: dict[str, float] = {}

        def set_cpu_cores(self, cpu_cores: float) -> SlotSharingGroup.Builder:
            """CPU cores for the group (> 0)."""
            if not isinstance(cpu_cores, (int, float)) or cpu_cores <= 0:
                raise JobDefinitionError(f"SlotSharingGroup.Builder.set_cpu_cores: expected a "
                                         f"number > 0 but got {describe(cpu_cores)}")
            self._cpu = float(cpu_cores)
            return self

        def set_task_heap_memory(self, task_heap_memory: MemorySize) -> SlotSharingGroup.Builder:
            """Task heap memory for the group."""
            self._heap = _memory(task_heap_memory, "set_task_heap_memory")
            return self

        def set_task_heap_memory_mb(self, task_heap_memory_mb: int) -> SlotSharingGroup.Builder:
            """Task heap memory for the group, in MiB."""
            return self.set_task_heap_memory(MemorySize.of_mebi_bytes(task_heap_memory_mb))

        def set_task_off_heap_memory(self, task_off_heap_memory: MemorySize
                                     ) -> SlotSharingGroup.Builder:
            """Task off-heap memory for the group."""
            self._off_heap = _memory(task_off_heap_memory, "set_task_off_heap_memory")
            return self

        def set_task_off_heap_memory_mb(self, task_off_heap_memory_mb: int
                                        ) -> SlotSharingGroup.Builder:
            """Task off-heap memory for the group, in MiB."""
            return self.set_task_off_heap_memory(MemorySize.of_mebi_bytes(task_off_heap_memory_mb))

        def set_managed_memory(self, managed_memory: MemorySize) -> SlotSharingGroup.Builder:
            """Managed memory for the group."""
            self._managed = _memory(managed_memory, "set_managed_memory")
            return self

        def set_managed_memory_mb(self, managed_memory_mb: int) -> SlotSharingGroup.Builder:
            """Managed memory for the group, in MiB."""
            return self.set_managed_memory(MemorySize.of_mebi_bytes(managed_memory_mb))

        def set_external_resource(self, name: str, value: float) -> SlotSharingGroup.Builder:
            """An external resource (GPU, ...); replaces an earlier value of the same name."""
            self._external[name] = float(value)
            return self

        def build(self) -> SlotSharingGroup:
            """The group. Flink requires CPU cores and task heap memory together."""
            if (self._cpu is None) != (self._heap is None):
                raise JobDefinitionError(
                    f"SlotSharingGroup '{self._name}': set both CPU cores and task heap memory, "
                    f"or neither (got cpu_cores={self._cpu}, task_heap_memory={self._heap})")
            return SlotSharingGroup(self._name, self._cpu, self._heap, self._off_heap,
                                    self._managed, self._external)


def _memory(value: object, where: str) -> MemorySize:
    if not isinstance(value, MemorySize):
        raise InvalidTypeError(f"SlotSharingGroup.Builder.{where}: expected a MemorySize but got "
                               f"{describe(value)}")
    return value


_WARNED: set[str] = set()


def group_name(group: object, where: str) -> str:
    """The name of ``group`` (a name or a :class:`SlotSharingGroup`); warns once per group name
    that declared resources are not reserved."""
    if isinstance(group, SlotSharingGroup):
        if group.has_resources() and group.get_name() not in _WARNED:
            _WARNED.add(group.get_name())
            warnings.warn(f"{where}: slot sharing group '{group.get_name()}' declares resources; "
                          "strom reserves no CPU or memory per group (as Flink without "
                          "fine-grained resource management), only the name is used",
                          RuntimeWarning, stacklevel=3)
        return group.get_name()
    if isinstance(group, str) and group:
        return group
    raise InvalidTypeError(f"{where}: expected a group name or a SlotSharingGroup but got "
                           f"{describe(group)}")
