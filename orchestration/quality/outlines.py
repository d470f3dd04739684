"""What each hand-written suite checks, known without building it (so without GX).

The code location needs each hand-written suite's checks (name, GDQF dimension, severity,
description) and quality targets to define its asset checks; only a step that validates
needs the suite itself. Building a suite means importing Great Expectations, which takes
seconds, so the outline of every suite is kept beside the dbt manifest
(``commonground_suite_checks.json`` in the dbt target folder, like the parse stamp) and a
code-location load reads it instead of building the suites.

Outlines are filed under the SHA-256 of the suite file they were taken from, together with
one digest of everything else a suite's checks depend on (the other ``.py`` files in the
suites folder, the quality package, the standards and Great Expectations' version). A suite
file whose bytes have no outline, another context, or a damaged file or entry builds the
suites that lack one (with a warning for the damage) and files their outlines.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from orchestration.project import SUITES_DIR
from orchestration.quality.suites import SuiteSource, load_suite, suite_paths
from orchestration.settings import get_settings
from orchestration.state import read_json_state, write_atomically

logger = logging.getLogger(__name__)

CACHE_NAME = "commonground_suite_checks.json"
"""The outlines' file, in the dbt target folder."""

_FORMAT = 2
_KEEP = 256
"""Outlines kept at most (of past versions of the suites too), newest last."""
_PACKAGE = Path(__file__).resolve().parent
_STANDARDS = _PACKAGE.parent / "standards.py"


@dataclass(frozen=True)
class SuiteOutline:
    """A hand-written suite's checks and targets; :meth:`load` builds the suite itself.

    Attributes:
        layer: Warehouse layer of the asset (``conformed``, ``marts`` ...).
        table: Table name; with ``layer`` it makes the asset key ``[layer, table]``.
        checks: ``(check_name, dimension, severity, description)`` of each expectation, in
            the suite's order.
        targets: Quality targets by GDQF dimension (percent), from the suite's meta.
        origin: The suite file.
    """

    layer: str
    table: str
    checks: tuple[tuple[str, str, str, str], ...]
    targets: dict[str, float] = field(default_factory=dict)
    origin: Path | None = None

    @property
    def dataset(self) -> str:
        """``<layer>.<table>``, as :attr:`SuiteSource.dataset`."""
        return f"{self.layer}.{self.table}"

    def load(self) -> SuiteSource:
        """The suite built from its file (imports Great Expectations)."""
        return load_suite(self.origin)


def outline_of(source: SuiteSource) -> SuiteOutline:
    """The outline of a built suite."""
    # deferred: the bridge imports Great Expectations; only a suite being built needs it.
    from orchestration.quality.gx_bridge import check_specs

    checks = tuple(
        (c.check_name, c.dimension, c.severity, c.description) for c in check_specs(source.suite)
    )
    return SuiteOutline(source.layer, source.table, checks, dict(source.targets), source.origin)


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _context_digest(suites_dir: Path, suites: list[Path]) -> str:
    """Digest of what a suite's checks depend on besides its own file."""
    try:
        gx_version = metadata.version("great_expectations")
    except metadata.PackageNotFoundError:
        gx_version = "absent"
    digest = hashlib.sha256(f"format {_FORMAT}\0gx {gx_version}\0".encode())
    helpers = [p for p in sorted(suites_dir.glob("*.py")) if p not in suites]
    for path in [*helpers, *sorted(_PACKAGE.glob("*.py")), _STANDARDS]:
        digest.update(str(path.name).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _cache_path() -> Path:
    return get_settings().dbt_target_dir / CACHE_NAME


def _checks_from(value: Any) -> tuple[tuple[str, str, str, str], ...] | None:
    """Checks as stored, or None when they are not a list of four strings each."""
    if not isinstance(value, list):
        return None
    checks = []
    for item in value:
        if not (
            isinstance(item, list) and len(item) == 4 and all(isinstance(v, str) for v in item)
        ):
            return None
        checks.append(tuple(item))
    return tuple(checks)


def _targets_from(value: Any) -> dict[str, float] | None:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool)
        for k, v in value.items()
    ):
        return None
    return {k: float(v) for k, v in value.items()}


def _stored(suites: dict[str, Any], path: Path, sha: str) -> SuiteOutline | None:
    """The filed outline of ``path`` if one was taken from these bytes, else None."""
    entry = suites.get(sha)
    if entry is None:
        return None
    checks = _checks_from(entry.get("checks")) if isinstance(entry, dict) else None
    targets = _targets_from(entry.get("targets")) if isinstance(entry, dict) else None
    if not checks or targets is None:
        logger.warning("ignoring a damaged outline of %s in %s", path.name, _cache_path())
        return None
    layer, table = path.stem.split("__", 1)
    return SuiteOutline(layer, table, checks, targets, path)


def suite_outlines(suites_dir: Path | None = None) -> list[SuiteOutline]:
    """The outline of every hand-written suite under ``expectations/suites`` (or
    ``suites_dir``): filed ones where their bytes have one, else built (importing GX).

    Raises:
        ValueError: A suite that had to be built is not valid (see :func:`load_suite`).
        GXBridgeError: An expectation lacks its check name, dimension or severity.
    """
    directory = Path(suites_dir or SUITES_DIR).resolve()
    paths = suite_paths(directory)
    return list(_outlines(directory, tuple((p, _file_digest(p)) for p in paths)))


@functools.lru_cache(maxsize=4)
def _outlines(directory: Path, files: tuple[tuple[Path, str], ...]) -> tuple[SuiteOutline, ...]:
    # One read per process for the same suite files (the code location asks several times).
    context = _context_digest(directory, [path for path, _ in files])
    cache_file = _cache_path()
    cache = read_json_state(cache_file)
    filed = cache.get("suites") if cache.get("context") == context else None
    filed = filed if isinstance(filed, dict) else {}
    outlines = [_stored(filed, path, sha) for path, sha in files]
    if all(o is not None for o in outlines):
        return tuple(outlines)
    outlines = [
        o or outline_of(load_suite(path)) for o, (path, _) in zip(outlines, files, strict=True)
    ]
    current = {
        sha: {"checks": [list(c) for c in o.checks], "targets": o.targets}
        for o, (_, sha) in zip(outlines, files, strict=True)
    }
    kept = {k: v for k, v in filed.items() if k not in current} | current
    record = {"format": _FORMAT, "context": context, "suites": dict(list(kept.items())[-_KEEP:])}
    try:
        write_atomically(cache_file, json.dumps(record, indent=1) + "\n")
    except OSError as exc:
        logger.warning("cannot keep the suites' outlines in %s (%s)", cache_file, exc)
    return tuple(outlines)
