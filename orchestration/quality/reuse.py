"""A check's earlier outcome, reported again while what it judges is unchanged.

A raw table's contract checks and its format-drift check judge the dataset's latest
delivery batch. Every run materializes the ingest assets, and Dagster expects each
materialization's checks to be evaluated for it; but a run that loaded nothing new for a
dataset would judge the same batch with the same rules and get the same answer. So each
time such a check set validates a dataset it records the *input* it judged, and the run that
judged it, in ``state/check_inputs.json`` beside the warehouse (in the data directory): a
digest of the batch (its id and row counts), the contract, the platform's code and the
versions of Great Expectations and DuckDB. When a later run finds the same input, the checks
report that run's outcomes again, read back from ``governance.quality_results`` (the source
of truth), instead of validating; nothing is appended to the results history, which records
validations.

An earlier outcome is never reused when any part of the input changed, when its results are
not all in the warehouse (a warehouse restored from a backup, say), when one of them was a
platform error (it may pass now), or when the state file is damaged (ignored, with a
warning).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb

from orchestration.contracts import Contract
from orchestration.quality.outcome import ExpectationOutcome
from orchestration.quality.results import warehouse_datasets
from orchestration.state import exclusive_lock, read_json_state, write_atomically

logger = logging.getLogger(__name__)

STATE_FILE = "check_inputs.json"
"""Where the judged inputs are kept, in the data directory's ``state`` folder."""

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent

Check = tuple[str, str, str, str]
"""``(check_name, dimension, severity, description)``."""


@functools.cache
def code_digest() -> str:
    """Digest of the code that judges a batch: every module of the ``orchestration``
    package, and the versions of Great Expectations and DuckDB (once per process: the code
    a process runs is the code it imported)."""
    digest = hashlib.sha256()
    for package in ("great_expectations", "duckdb"):
        try:
            version = metadata.version(package)
        except metadata.PackageNotFoundError:
            version = "absent"
        digest.update(f"{package} {version}\0".encode())
    for path in sorted(_PACKAGE_ROOT.rglob("*.py")):
        if "__pycache__" not in path.parts:
            relative = path.relative_to(_PACKAGE_ROOT)
            digest.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def state_dir_of(database: str) -> Path | None:
    """The ``state`` folder beside a warehouse file (the data directory's, for the
    pipeline's warehouse), or None for an in-memory database."""
    if not database or database.startswith((":memory:", "md:", "motherduck:")):
        return None
    return Path(database).parent / "state"


def input_key(check_set: str, dataset: str, batch: Sequence[Any], contract: Contract) -> str:
    """Digest of what ``check_set`` judges for ``dataset``: the batch's identity (e.g. its id
    and row counts), the contract and the code (:func:`code_digest`)."""
    text = json.dumps(
        [check_set, dataset, list(batch), contract.document, code_digest()],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


class JudgedInputs:
    """The inputs one check set judged, per dataset, and the run that judged each.

    Args:
        state_dir: The ``state`` folder beside the warehouse (:func:`state_dir_of`); None
            for a warehouse without one (in memory): nothing is reused or recorded.
        check_set: The check set's name (its Dagster op, e.g. ``raw_quality_checks``).
    """

    def __init__(self, state_dir: Path | None, check_set: str):
        self.path = None if state_dir is None else state_dir / STATE_FILE
        self.check_set = check_set
        stored = read_json_state(self.path).get(check_set) if self.path else None
        self._stored: dict[str, Any] = stored if isinstance(stored, dict) else {}
        self._new: dict[str, dict[str, str]] = {}

    def reusable(
        self, con: duckdb.DuckDBPyConnection, dataset: str, key: str, checks: Sequence[Check]
    ) -> tuple[str, list[ExpectationOutcome]] | None:
        """The run that judged ``key`` for ``dataset`` and its outcome of every check in
        ``checks`` (in that order), or None when they cannot be reused."""
        entry = self._stored.get(dataset)
        if not isinstance(entry, dict) or entry.get("key") != key:
            return None
        run_id = entry.get("run_id")
        if not isinstance(run_id, str):
            return None
        exists = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'governance' and table_name = 'quality_results'"
        ).fetchone()[0]
        if not exists:
            return None
        name = warehouse_datasets(con, [dataset])[dataset]
        rows = con.execute(
            "select check_name, dimension, severity, success, element_count, unexpected_count, "
            "unexpected_percent, observed_value, error from governance.quality_results "
            "where run_id = ? and dataset = ? "
            "qualify row_number() over (partition by check_name order by validated_at desc) = 1",
            [run_id, name],
        ).fetchall()
        found = {r[0]: r for r in rows}
        outcomes = []
        for check_name, dimension, severity, description in checks:
            row = found.get(check_name)
            if row is None or row[1:3] != (dimension, severity) or row[8] is not None:
                return None
            outcomes.append(
                ExpectationOutcome(
                    check_name,
                    dimension,
                    severity,
                    description or "",
                    success=bool(row[3]),
                    element_count=row[4],
                    unexpected_count=row[5],
                    unexpected_percent=row[6],
                    observed_value=row[7],
                )
            )
        return run_id, outcomes

    def record(self, dataset: str, key: str, run_id: str) -> None:
        """Notes that ``run_id`` judged ``key`` for ``dataset`` (its outcomes recorded)."""
        if self.path is not None:
            self._new[dataset] = {"key": key, "run_id": run_id}

    def save(self) -> None:
        """Merges what was noted into the state file (under a lock, keeping other check
        sets' and datasets' entries). A file that cannot be written is left, with a warning:
        the next run validates again."""
        if not self._new or self.path is None:
            return
        try:
            with exclusive_lock(self.path.with_name(self.path.name + ".lock")):
                stored = read_json_state(self.path)
                entries = stored.get(self.check_set)
                entries = entries if isinstance(entries, dict) else {}
                stored[self.check_set] = {**entries, **self._new}
                write_atomically(self.path, json.dumps(stored, indent=1, sort_keys=True) + "\n")
        except OSError as exc:
            logger.warning("cannot keep the judged inputs in %s (%s)", self.path, exc)
            return
        self._new = {}
