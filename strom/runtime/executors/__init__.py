"""Executors: what drives a job's tasks. ``inline`` (default) runs every task on one thread."""
from strom.runtime.executors.inline import InlineExecutor

EXECUTORS = {"inline": InlineExecutor}

__all__ = ["EXECUTORS", "InlineExecutor"]
