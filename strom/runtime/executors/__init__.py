"""Executors: what drives a job's tasks. ``inline`` (default) runs every task on one thread;
``threads`` runs each task on a thread of its own (Flink's model)."""
from strom.runtime.executors.inline import InlineExecutor
from strom.runtime.executors.threads import ThreadsExecutor

EXECUTORS = {"inline": InlineExecutor, "threads": ThreadsExecutor}

__all__ = ["EXECUTORS", "InlineExecutor", "ThreadsExecutor"]
