"""PyFlink's ``pyflink.datastream.slot_sharing_group``: re-exports only."""
from strom.api.slot_sharing_group import MemorySize, SlotSharingGroup

__all__ = ["MemorySize", "SlotSharingGroup"]
