"""Checkpointing: barriers, coordinator, storage, restart strategies; imports only strom.state, strom.time, strom.errors."""
