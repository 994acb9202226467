"""The ``_metadata`` file of a checkpoint or savepoint: its versioned JSON format, and plain records.

A checkpoint directory is complete when, and only when, its ``_metadata`` exists; storage
writes it last and atomically. Its content is canonical JSON (sorted keys, no spaces) of::

    {"format": "strom-checkpoint", "version": 1, "kind": "checkpoint" | "savepoint",
     "checkpoint_id": 7, "job_id": "...", "timestamp_ms": 1700000000000 | null,
     "files": {"<state file>": {"size": 123, "sha256": "<hex>"}, ...},
     "checksum": "<sha256 of the canonical JSON of everything else>",
     ...the keys the caller gave to ``PendingCheckpoint.commit``}

``files`` is the manifest: every state file of the checkpoint, with the size and SHA-256 that
reading checks. ``checksum`` catches a flipped byte in ``_metadata`` itself even where the JSON
still parses.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from strom.errors import CheckpointCorruptedError, CheckpointError

METADATA = "_metadata"
FORMAT = "strom-checkpoint"
VERSION = 1
KINDS = ("checkpoint", "savepoint")
#: Keys storage writes; a caller's metadata must not use them.
RESERVED = frozenset({"format", "version", "kind", "checkpoint_id", "job_id", "timestamp_ms",
                      "files", "checksum"})


@dataclass(frozen=True, slots=True)
class StateHandle:
    """One state file written into a pending checkpoint, as recorded in its manifest.

    Attributes:
        name: the file's name inside the checkpoint directory (flat, no ``/``).
        size: its length in bytes.
        sha256: the hex SHA-256 of its bytes.
    """

    name: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class CheckpointInfo:
    """One checkpoint or savepoint directory as ``strom checkpoints DIR`` shows it.

    Attributes:
        job_id: the job that wrote it ("" when unknown, e.g. an incomplete savepoint).
        checkpoint_id: its id (-1 when neither ``_metadata`` nor the name tells).
        kind: ``"checkpoint"`` or ``"savepoint"``.
        status: ``"complete"``, ``"incomplete"`` (no ``_metadata``) or ``"corrupt"``.
        reason: why it is incomplete or corrupt; ``""`` when complete.
        timestamp_ms: when it was committed (epoch ms), ``None`` when unknown.
        size: bytes of its state files.
        files: number of its state files.
        path: its directory.
    """

    job_id: str
    checkpoint_id: int
    kind: str
    status: str
    reason: str
    timestamp_ms: int | None
    size: int
    files: int
    path: str


def restore_hint(path: str) -> str:
    """The hint every corruption message ends with: where to find an older checkpoint."""
    parent = path.rstrip("/").rpartition("/")[0] or path
    return f"Hint: restore from an older checkpoint: `strom checkpoints {parent}` lists them."


def _canonical(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode("ascii")


def encode(*, kind: str, checkpoint_id: int, job_id: str, timestamp_ms: int | None,
           handles: dict[str, StateHandle], extra: dict[str, Any], path: str) -> bytes:
    """The bytes of ``_metadata`` for a checkpoint at ``path`` (see the module docstring).

    Raises:
        CheckpointError: ``extra`` uses a reserved key or is not JSON-serializable.
    """
    clash = sorted(RESERVED.intersection(extra))
    if clash:
        msg = (f"checkpoint {path}: commit(metadata) uses reserved key(s) {clash}; storage "
               f"writes those itself. Expected other keys; hint: rename them.")
        raise CheckpointError(msg, checkpoint=path)
    doc: dict[str, Any] = dict(extra)
    doc.update(format=FORMAT, version=VERSION, kind=kind, checkpoint_id=checkpoint_id,
               job_id=job_id, timestamp_ms=timestamp_ms,
               files={h.name: {"size": h.size, "sha256": h.sha256} for h in handles.values()})
    try:
        body = _canonical(doc)
    except (TypeError, ValueError) as exc:
        msg = (f"checkpoint {path}: commit(metadata) must be JSON-serializable (dicts, lists, "
               f"str, int, finite float, bool, None), but {exc}. Hint: put binary or "
               f"structured state in a state file with write() and name it in the metadata.")
        raise CheckpointError(msg, checkpoint=path) from exc
    doc["checksum"] = hashlib.sha256(body).hexdigest()
    return _canonical(doc) + b"\n"


def _corrupt(path: str, what: str) -> CheckpointCorruptedError:
    msg = f"checkpoint {path}: {METADATA} is corrupt: {what}. {restore_hint(path)}"
    return CheckpointCorruptedError(msg, checkpoint=path, file=METADATA)


def decode(data: bytes, path: str) -> dict[str, Any]:
    """Parse and check ``_metadata`` bytes of the checkpoint at ``path``.

    Raises:
        CheckpointCorruptedError: not JSON, a wrong checksum, or a malformed manifest.
        CheckpointError: not a strom checkpoint, or a version this strom does not read.
    """
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _corrupt(path, f"expected JSON, found {len(data)} unparsable bytes ({exc})") from None
    if not isinstance(doc, dict):
        raise _corrupt(path, f"expected a JSON object, found {type(doc).__name__}")
    if doc.get("format") != FORMAT:
        msg = (f"checkpoint {path}: {METADATA} is not a strom checkpoint: expected format "
               f"{FORMAT!r}, found {doc.get('format')!r}. Hint: point at a directory written "
               f"by strom's checkpoint storage.")
        raise CheckpointError(msg, checkpoint=path)
    version = doc.get("version")
    if not isinstance(version, int) or version != VERSION:
        newer = isinstance(version, int) and version > VERSION
        why = "written by a newer strom" if newer else "an unknown format version"
        msg = (f"checkpoint {path}: {METADATA} is {why}: expected version {VERSION}, found "
               f"{version!r}. Hint: restore it with the strom version that wrote it (or a newer "
               f"one), or restore from an older checkpoint.")
        raise CheckpointError(msg, checkpoint=path)
    checksum = doc.pop("checksum", None)
    actual = hashlib.sha256(_canonical(doc)).hexdigest()
    if checksum != actual:
        raise _corrupt(path, f"expected checksum {checksum!r}, found content hashing to {actual!r}")
    files = doc.get("files")
    if not isinstance(files, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("size"), int)
            and isinstance(v.get("sha256"), str) for v in files.values()):
        raise _corrupt(path, "expected 'files' to map names to {size, sha256}")
    if doc.get("kind") not in KINDS or not isinstance(doc.get("checkpoint_id"), int):
        raise _corrupt(path, f"expected kind in {KINDS} and an integer checkpoint_id")
    return doc
