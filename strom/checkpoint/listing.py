"""What a directory of checkpoints holds, for ``strom checkpoints DIR`` and for people.

``list_checkpoints`` accepts a checkpoint base directory (``<base>/<job_id>/chk-<n>``), one
job's directory, a savepoint target directory, or a single checkpoint/savepoint directory,
verifies each checkpoint it finds, and describes it as a :class:`CheckpointInfo`.
``format_table`` renders those as a plain aligned text table. ``resolve_restore_path`` turns
what a user points ``strom run -s`` at into the one checkpoint to restore.
"""
from __future__ import annotations

import datetime as _dt

from strom.checkpoint import _fs
from strom.checkpoint.metadata import METADATA, CheckpointInfo
from strom.checkpoint.storage import (
    LoadedCheckpoint,
    checkpoint_id_of,
    latest_complete,
    load_checkpoint,
)
from strom.errors import CheckpointError

__all__ = ["CheckpointInfo", "format_table", "list_checkpoints", "resolve_restore_path"]


def _is_checkpoint_name(name: str) -> bool:
    return checkpoint_id_of(name) is not None or name.startswith("savepoint-")


def _describe(backend: _fs.Backend, path: str, job_hint: str, verify: bool) -> CheckpointInfo:
    name = path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    kind = "savepoint" if name.startswith("savepoint-") else "checkpoint"
    n = checkpoint_id_of(name)
    if not backend.exists(backend.join(path, METADATA)):
        names = [f for f in backend.listdir(path) if not f.startswith(".")]
        size = 0
        for f in names:
            try:
                size += backend.size(backend.join(path, f))
            except (FileNotFoundError, IsADirectoryError):
                pass
        return CheckpointInfo(job_hint, -1 if n is None else n, kind, "incomplete",
                              f"no {METADATA}", None, size, len(names), path)
    try:
        loaded = load_checkpoint(path)
    except CheckpointError as exc:
        return CheckpointInfo(job_hint, -1 if n is None else n, kind, "corrupt", str(exc), None,
                              0, 0, path)
    status, reason = "complete", ""
    if verify:
        try:
            loaded.verify()
        except CheckpointError as exc:
            status, reason = "corrupt", str(exc)
    files = loaded.metadata["files"]
    return CheckpointInfo(loaded.job_id, loaded.checkpoint_id, loaded.kind, status, reason,
                          loaded.metadata.get("timestamp_ms"),
                          sum(f["size"] for f in files.values()), len(files), path)


def list_checkpoints(directory: str, *, verify: bool = True) -> list[CheckpointInfo]:
    """Every checkpoint and savepoint ``directory`` holds, newest id first within each job.

    Args:
        directory: a base dir, a job dir, a savepoint target dir, or one checkpoint dir
            (local path, ``file://``, ``memory://`` or fsspec URL).
        verify: read every state file and check it against the manifest (slower, but
            reports corrupt checkpoints as such).
    """
    backend, root = _fs.resolve(directory)
    root_name = root.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    if root_name == METADATA:
        root = backend.parent(root)
        root_name = root.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    names = backend.listdir(root)
    if _is_checkpoint_name(root_name) or METADATA in names:
        return [_describe(backend, root, "", verify)]
    infos: list[CheckpointInfo] = []

    def scan(job_dir: str, job_id: str, entries: list[str]) -> None:
        for name in entries:
            if _is_checkpoint_name(name):
                infos.append(_describe(backend, backend.join(job_dir, name), job_id, verify))

    if any(_is_checkpoint_name(n) for n in names):
        scan(root, root_name, names)
    for name in names:
        if _is_checkpoint_name(name) or name.startswith("."):
            continue
        sub = backend.join(root, name)
        scan(sub, name, backend.listdir(sub))
    infos.sort(key=lambda i: (i.job_id, i.kind, -i.checkpoint_id, i.path))
    return infos


def resolve_restore_path(path: str) -> tuple[LoadedCheckpoint, list[str]]:
    """The checkpoint to restore from ``path``, verified, and why newer ones were skipped.

    ``path`` is a savepoint or ``chk-<n>`` directory, its ``_metadata`` file (that one is
    used), or a job's checkpoint directory or a checkpoint base directory (then the newest
    complete checkpoint that verifies, over every job under it).

    Raises:
        CheckpointError: ``path`` does not exist, the checkpoint there is incomplete or corrupt,
            or a directory holds no complete checkpoint.
    """
    backend, root = _fs.resolve(path)
    if root.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] == METADATA:
        root = backend.parent(root)
    if not backend.exists(root):
        msg = (f"restore from {path}: no such file or directory; expected a savepoint "
               f"directory, a chk-<n> directory, its {METADATA} file, or a directory of retained "
               "checkpoints. Hint: 'strom checkpoints DIR' lists what a directory holds")
        raise CheckpointError(msg, checkpoint=path)
    names = backend.listdir(root)
    name = root.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    if METADATA in names or _is_checkpoint_name(name):
        loaded = load_checkpoint(root)
        loaded.verify()
        return loaded, []
    job_dirs = [root] if any(checkpoint_id_of(n) is not None for n in names) else \
        [backend.join(root, n) for n in names if not n.startswith(".")]
    found: list[LoadedCheckpoint] = []
    skipped: list[str] = []
    for job_dir in job_dirs:
        loaded, reasons = latest_complete(job_dir)
        skipped.extend(reasons)
        if loaded is not None:
            found.append(loaded)
    if not found:
        why = "".join(f"; skipped {r}" for r in skipped)
        msg = (f"restore from {path}: no complete checkpoint there{why}. Expected a savepoint or "
               "chk-<n> directory, or a directory holding them. Hint: 'strom checkpoints DIR' "
               "lists what a directory holds")
        raise CheckpointError(msg, checkpoint=path)
    best = max(found, key=lambda c: (c.metadata.get("timestamp_ms") or 0, c.checkpoint_id))
    return best, skipped


def _time(ms: int | None) -> str:
    if ms is None:
        return "-"
    return _dt.datetime.fromtimestamp(ms / 1000, _dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def format_table(infos: list[CheckpointInfo]) -> str:
    """A plain aligned text table of ``infos`` (one line each, reasons on a following line)."""
    header = ("JOB", "ID", "KIND", "STATUS", "TIME", "SIZE", "FILES", "PATH")
    rows = [(i.job_id or "-", str(i.checkpoint_id) if i.checkpoint_id >= 0 else "-", i.kind,
             i.status, _time(i.timestamp_ms), _size(i.size), str(i.files), i.path)
            for i in infos]
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
    right = {1, 5, 6}

    def line(row: tuple[str, ...]) -> str:
        cells = [v.rjust(w) if c in right else v.ljust(w)
                 for c, (v, w) in enumerate(zip(row, widths))]
        return "  ".join(cells).rstrip()

    out = [line(header)]
    for info, row in zip(infos, rows):
        out.append(line(row))
        if info.reason:
            out.append(f"    reason: {info.reason}")
    return "\n".join(out) + "\n"
