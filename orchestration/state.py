"""Crash-safe state files: written whole or not at all, read back as absent when damaged.

Every state file the platform keeps (the last build's fingerprint, the dbt parse digest, the
linkage models, the file digests of :class:`DigestCache`) is written with
:func:`write_atomically`: the text goes to a temporary file
in the same folder, is flushed to disk, and replaces the old file with one atomic rename. A
process killed mid-write leaves the previous file intact (and at worst a temporary file,
which is ignored). A file damaged anyway (a disk fault, a hand edit) is read as absent with
a warning naming it, so the pipeline rebuilds or parses again instead of crashing.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

PUBLISH_TEMP_PATTERNS = (".analytics.duckdb.*.tmp", ".analytics.duckdb.*.tmp.wal")
"""The temporary files a publishing run writes beside the snapshot (the snapshot and its
write-ahead log) before renaming the snapshot into place."""

_SHA256 = re.compile(r"[0-9a-f]{64}")


class DataDirectoryError(RuntimeError):
    """The data directory cannot be used; the message says which path and what to do."""


def write_atomically(path: Path, text: str) -> None:
    """Replaces ``path`` with ``text`` (UTF-8) so that readers see the old or the new file.

    The text is written to a temporary file in the same folder, fsynced and renamed over
    ``path``; the folder is fsynced so the rename survives a power cut. If anything fails
    the temporary file is removed and ``path`` is left as it was.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temporary = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def fsync_directory(directory: Path) -> None:
    """Flushes a folder's entries (a rename into it) to disk, where the platform allows."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_json_state(path: Path) -> dict[str, Any]:
    """The JSON object stored at ``path``; empty when the file is missing or damaged.

    A file that is not a complete JSON object (truncated, not UTF-8, another type) is
    treated as absent, with a warning naming the file.
    """
    if not path.exists():
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        logger.warning("ignoring damaged state file %s (%s); treating it as absent", path, exc)
        return {}
    if not isinstance(value, dict):
        logger.warning("ignoring damaged state file %s (not a JSON object)", path)
        return {}
    return value


def read_digest(path: Path) -> str | None:
    """The SHA-256 hex digest stored at ``path``; None when missing or damaged (warned)."""
    if not path.exists():
        return None
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        logger.warning("ignoring damaged state file %s (%s); treating it as absent", path, exc)
        return None
    if not _SHA256.fullmatch(text):
        logger.warning("ignoring damaged state file %s (not a SHA-256 digest)", path)
        return None
    return text


def check_data_dir(data_dir: Path) -> None:
    """Makes sure the data directory exists (creating it) and can be read and written.

    Raises:
        DataDirectoryError: It is a file, cannot be created, or is not readable and
            writable by this user.
    """
    hint = "set COMMONGROUND_DATA_DIR to a folder this user can read and write"
    if data_dir.exists() and not data_dir.is_dir():
        raise DataDirectoryError(f"Data directory {data_dir} is a file, not a folder: {hint}.")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataDirectoryError(
            f"Data directory {data_dir} cannot be created ({exc.strerror or exc}): {hint}."
        ) from exc
    if not os.access(data_dir, os.R_OK | os.W_OK | os.X_OK):
        raise DataDirectoryError(
            f"Data directory {data_dir} is not readable and writable by this user: {hint}, "
            "or fix its permissions."
        )


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Holds an exclusive ``flock`` on ``path`` (created if missing) for the ``with`` block,
    waiting for it: serialises one piece of work across threads and processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _locked(path: Path) -> bool:
    """True when another process holds a lock on ``path`` (DuckDB locks its open files).

    The probe takes and drops a POSIX lock; POSIX locks of one process never conflict, so
    it only sees other processes' locks (call it before this process opens the file).
    """
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def remove_dead_publish_temps(
    published_dir: Path, started_before: float, grace_seconds: float = 60.0
) -> list[Path]:
    """Removes the temporary snapshot files of publishing runs that died.

    A temporary file (``.analytics.duckdb.<run>.tmp`` or its ``.wal``) belongs to a dead run
    when it was last written before ``started_before - grace_seconds`` (the current run
    started after it) and no process holds a lock on the snapshot it belongs to (a live
    publishing run keeps it open in DuckDB, which locks it).

    Args:
        published_dir: ``<data dir>/published``.
        started_before: Epoch seconds when the current run started.
        grace_seconds: How much older than the current run a file must be.

    Returns:
        The files removed.
    """
    if not published_dir.is_dir():
        return []
    removed = []
    for pattern in PUBLISH_TEMP_PATTERNS:
        for path in sorted(published_dir.glob(pattern)):
            database = path.with_suffix("") if path.suffix == ".wal" else path
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime >= started_before - grace_seconds:
                    continue
                if database.exists() and _locked(database):
                    continue
                path.unlink()
                removed.append(path)
                logger.warning("removed %s, left by a publishing run that did not finish", path)
    return removed


RACY_NANOSECONDS = 2_000_000_000
"""How much older than its hashing a file's last change must be for a remembered digest to
be trusted (see :class:`DigestCache`)."""


def sha256_of_file(path: Path) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(8 * 1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _signature(stat: os.stat_result) -> tuple[int, int, int, int]:
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


def _entry(value: Any) -> tuple[tuple[int, int, int, int], str, int] | None:
    """``(signature, digest, hashed at)`` of a stored entry; None when it is malformed."""
    if not (isinstance(value, list) and len(value) == 6):
        return None
    *numbers, sha, hashed_at = value
    if not all(type(n) is int for n in (*numbers, hashed_at)):
        return None
    if not (isinstance(sha, str) and _SHA256.fullmatch(sha)):
        return None
    return tuple(numbers), sha, hashed_at


class DigestCache:
    """SHA-256 digests of files, remembered by their stat in a state file.

    A file is hashed again unless its size, modification time, change time and inode are all
    what they were when it was hashed: a file rewritten in place, renamed over or touched is
    hashed again (the change time cannot be set back, unlike the modification time). As in
    git's index, a digest is trusted only if the file's last change was more than
    :data:`RACY_NANOSECONDS` older than its hashing: the file system's clock is coarse, so a
    file changed again within the same tick as its hashing could otherwise keep its stat.

    The state file is read when the cache is made; a missing file is an empty cache, and a
    damaged one (or a damaged entry) is ignored with a warning: its files are hashed again.
    :meth:`save` merges this process's digests into the file under a lock, so processes that
    hash at once (a run and the landing sensor) keep each other's, and drops the entries of
    files that no longer exist.

    Args:
        path: The state file (JSON).
        root: Files are remembered by their path relative to it.
        hasher: Hashes a file (default :func:`sha256_of_file`).
    """

    FORMAT = 1

    def __init__(self, path: Path, root: Path, hasher: Callable[[Path], str] | None = None):
        self.path = path
        self.root = root
        self._hasher = hasher or sha256_of_file
        self._entries = self._read()
        self._new: dict[str, list] = {}

    def _read(self) -> dict[str, tuple]:
        stored = read_json_state(self.path)
        if not stored:
            return {}
        files = stored.get("files")
        if stored.get("format") != self.FORMAT or not isinstance(files, dict):
            logger.warning("ignoring state file %s (not a digest cache); rehashing", self.path)
            return {}
        entries = {key: _entry(value) for key, value in files.items()}
        damaged = [key for key, entry in entries.items() if entry is None]
        if damaged:
            logger.warning(
                "ignoring %d damaged entries of %s (e.g. %s); those files are hashed again",
                len(damaged),
                self.path,
                damaged[0],
            )
        return {key: entry for key, entry in entries.items() if entry is not None}

    def _key(self, file: Path) -> str:
        return os.path.relpath(file, self.root)

    def cached(self, file: Path) -> str | None:
        """The remembered digest of ``file`` if it can be trusted now, else None."""
        entry = self._entries.get(self._key(file))
        if entry is None:
            return None
        signature, sha, hashed_at = entry
        try:
            now = _signature(os.stat(file))
        except OSError:
            return None
        changed = max(signature[1], signature[2])
        if now != signature or changed >= hashed_at - RACY_NANOSECONDS:
            return None
        return sha

    def sha256(self, file: Path) -> str:
        """The SHA-256 of ``file``: remembered, or hashed now (and remembered).

        Raises:
            OSError: The file cannot be read.
        """
        sha = self.cached(file)
        if sha is not None:
            return sha
        before = os.stat(file)
        hashed_at = time.time_ns()
        sha = self._hasher(file)
        self.remember(file, before, sha, hashed_at)
        return sha

    def remember(self, file: Path, before: os.stat_result, sha: str, hashed_at: int) -> None:
        """Remembers a digest taken elsewhere: ``before`` is the file's stat taken before
        reading it and ``hashed_at`` (``time.time_ns()``) when reading began. Nothing is
        remembered when the file changed since ``before``."""
        try:
            after = os.stat(file)
        except OSError:
            return
        if _signature(after) != _signature(before):
            return
        entry = [*_signature(before), sha, hashed_at]
        self._entries[self._key(file)] = _entry(entry)
        self._new[self._key(file)] = entry

    def save(self) -> None:
        """Writes the digests remembered by this process into the state file (merged with
        what other processes wrote meanwhile); entries of missing files are dropped. A state
        file that cannot be written is left as it was, with a warning: it is only a cache."""
        if not self._new:
            return
        try:
            with exclusive_lock(self.path.with_name(self.path.name + ".lock")):
                stored = read_json_state(self.path)
                files = stored.get("files") if stored.get("format") == self.FORMAT else None
                merged = {
                    key: value
                    for key, value in (files if isinstance(files, dict) else {}).items()
                    if _entry(value) is not None
                }
                merged.update(self._new)
                kept = {k: v for k, v in merged.items() if (self.root / k).is_file()}
                write_atomically(
                    self.path,
                    json.dumps({"format": self.FORMAT, "files": kept}, sort_keys=True) + "\n",
                )
        except OSError as exc:
            logger.warning("cannot keep file digests in %s (%s)", self.path, exc)
            return
        self._new = {}
