"""Operational faults explained in one line: what went wrong outside the code, what to do.

A full disk, a warehouse locked by another process, running out of memory and an unusable
data directory are not bugs: the user needs the cause and the remedy, not a traceback. The
same rules read an exception raised in this process (:func:`explain`) and the error a failed
Dagster step recorded (:func:`explain_chain`, from ``(class name, message)`` pairs), so a
fault reads the same wherever it happened. Anything else is left to the traceback.

:func:`is_transient` picks out the faults worth retrying (a lock held by another process, an
I/O error); data failures and everything else are not.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterable
from pathlib import Path

from orchestration.settings import DEFAULT_DATA_DIR

_LOCK = re.compile(r'Could not set lock on file "(?P<path>[^"]+)"|Conflicting lock is held')
_PID = re.compile(r"\(PID (?P<pid>\d+)\)")
_DISK_FULL = re.compile(r"No space left|disk I/O error|disk is full|\[Errno 28\]", re.IGNORECASE)
_OUT_OF_MEMORY = re.compile(r"Out of Memory Error|failed to allocate|Cannot allocate memory")
_OUT_OF_MEMORY_CLASSES = {"OutOfMemoryException", "MemoryError"}
_TRANSIENT_IO = re.compile(
    r"Input/output error|\[Errno (5|11|16|110|104)\]|Resource temporarily unavailable|"
    r"Device or resource busy|Connection reset|timed out",
    re.IGNORECASE,
)
_PATH_ERROR = re.compile(
    r"(Permission denied|Not a directory|No such file or directory|Is a directory)"
    r"(: '(?P<path>[^']+)')?"
)


def _data_dir() -> Path:
    """The configured data directory, read without the settings' checks (they may fail)."""
    return Path(os.environ.get("COMMONGROUND_DATA_DIR") or DEFAULT_DATA_DIR).resolve()


def _first_line(message: str) -> str:
    return (message.strip().splitlines() or [""])[0].strip()


def explain_error(cls_name: str, message: str) -> str | None:
    """One line naming an operational fault and what to do, or None for any other error.

    Args:
        cls_name: The exception's class name (``IOException``, ``OSError``...).
        message: The exception's message.
    """
    data_dir = _data_dir()
    if cls_name == "WarehouseBusyError":
        return _first_line(message)
    lock = _LOCK.search(message)
    if lock:
        path = lock.group("path") or "the warehouse"
        pid = _PID.search(message)
        holder = f"another process (PID {pid.group('pid')})" if pid else "another process"
        return (
            f"{path} is locked by {holder}: wait for it to finish or stop it (another "
            "pipeline run, the Dagster UI, an open DuckDB session), then run again."
        )
    if _DISK_FULL.search(message):
        return (
            f"The disk is full ({_first_line(message)}): free space on the disk that holds "
            f"{data_dir} (or set COMMONGROUND_DATA_DIR to a larger disk), then run again."
        )
    if cls_name in _OUT_OF_MEMORY_CLASSES or _OUT_OF_MEMORY.search(message):
        limit = os.environ.get("COMMONGROUND_DUCKDB_MEMORY_LIMIT", "8GB")
        return (
            f"Out of memory (DuckDB memory limit {limit}): set COMMONGROUND_DUCKDB_MEMORY_LIMIT "
            "to what this machine can spare, close other programs or use a larger machine, "
            "then run again."
        )
    if cls_name == "DataDirectoryError":
        return _first_line(message)
    problem = _PATH_ERROR.search(message)
    if problem and str(data_dir) in message:
        where = problem.group("path") or str(data_dir)
        return (
            f"The data directory cannot be used ({problem.group(1)}: {where}): set "
            "COMMONGROUND_DATA_DIR to a folder this user can read and write, then run again."
        )
    return None


def is_transient(errors: Iterable[tuple[str, str]]) -> bool:
    """Whether ``(class name, message)`` errors show a fault that may clear on its own.

    A warehouse locked by another process and I/O errors (EIO, EAGAIN, EBUSY, timeouts,
    reset connections) are transient: the step is worth retrying. A full disk, running out
    of memory, bad data, a failed check or a bug are not.
    """
    for cls_name, message in errors:
        if cls_name == "WarehouseBusyError" or _LOCK.search(message):
            return True
        if _DISK_FULL.search(message) or _OUT_OF_MEMORY.search(message):
            return False
        if _TRANSIENT_IO.search(message):
            return True
    return False


def explain_chain(errors: Iterable[tuple[str, str]]) -> str | None:
    """The first operational fault among ``(class name, message)`` errors, explained."""
    for cls_name, message in errors:
        explained = explain_error(cls_name, message)
        if explained:
            return explained
    return None


def chain_of(exc: BaseException) -> list[tuple[str, str]]:
    """``(class name, message)`` of an exception and of every exception behind it."""
    found, seen = [], set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        message = str(current)
        if isinstance(current, OSError) and current.errno == errno.ENOSPC:
            message = f"No space left on device ({message})"
        found.append((type(current).__name__, message))
        current = current.__cause__ or current.__context__
    return found


def explain(exc: BaseException) -> str | None:
    """One line for an operational fault raised in this process (or behind it), else None."""
    return explain_chain(chain_of(exc))
