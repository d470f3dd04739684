"""Paths of the repository's parts, the one dbt project handle and its parse cache."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestration.settings import REPO_ROOT, get_settings
from orchestration.state import exclusive_lock, read_digest, write_atomically

if TYPE_CHECKING:
    from dagster_dbt import DbtProject

DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
CONTRACTS_DIR = REPO_ROOT / "expectations" / "contracts"
SUITES_DIR = REPO_ROOT / "expectations" / "suites"
AGREEMENTS_DIR = REPO_ROOT / "expectations" / "agreements"

PARSE_STAMP = "commonground_parse_inputs.sha256"
"""File beside the manifest holding the digest of what the manifest was parsed from."""

PARSE_LOCK = "commonground_parse.lock"
"""Held while dbt parses, so two processes never parse into one target folder at once."""

KEEP_INVOCATIONS = 20
"""How many per-step dbt target folders to keep."""

# Folders of the dbt project that dbt writes, not reads.
_DBT_OUTPUT_FOLDERS = {"target", "logs", "dbt_packages"}


def dbt_project() -> DbtProject:
    """The dbt project as Dagster sees it (built on demand, never at import; one per target).

    Its target folder (manifest, compiled SQL) is ``dbt_project/target`` unless
    ``COMMONGROUND_DBT_TARGET_DIR`` names another, so that test runs never share one.
    """
    return _dbt_project(get_settings().dbt_target_dir)


@functools.cache
def _dbt_project(target_dir: Path) -> DbtProject:
    # dagster_dbt imports dbt's adapters: deferred so that importing this module stays cheap.
    from dagster_dbt import DbtProject

    return DbtProject(
        project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target_path=target_dir
    )


def dbt_executable() -> str:
    """The dbt executable installed beside the running Python (works without an activated venv)."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


@contextlib.contextmanager
def dbt_environment(extra: Mapping[str, str] | None = None) -> Iterator[None]:
    """The environment the dbt profile reads, set only while a dbt command starts.

    dagster-dbt hands dbt a copy of ``os.environ`` when the command starts; the variables
    (the pseudonymisation key among them, and ``extra``) are removed again afterwards, so
    no other subprocess of the pipeline inherits them.
    """
    wanted = {**get_settings().dbt_env(), **(extra or {})}
    before = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _parse_input_files() -> list[Path]:
    """The files under the dbt project that dbt reads, sorted by their relative path.

    The folders dbt writes (``target``, ``logs``, ``dbt_packages``) are not walked at all:
    the target folder alone holds thousands of files from earlier builds.
    """
    found = []
    for folder, subfolders, files in os.walk(DBT_PROJECT_DIR):
        here = Path(folder)
        if here == DBT_PROJECT_DIR:
            subfolders[:] = [d for d in subfolders if d not in _DBT_OUTPUT_FOLDERS]
        found += [here / name for name in files if (here / name).is_file()]
    return sorted(found, key=lambda p: p.relative_to(DBT_PROJECT_DIR).parts)


def parse_inputs_digest() -> str:
    """SHA-256 of what ``dbt parse`` reads: the project's files (models, macros, seeds, tests,
    ``dbt_project.yml``, the profile), dbt's version and the environment the profile reads."""
    from dbt.version import __version__ as dbt_version  # deferred: dbt is slow to import.

    digest = hashlib.sha256(dbt_version.encode())
    for path in _parse_input_files():
        relative = path.relative_to(DBT_PROJECT_DIR)
        digest.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
    for name, value in sorted(get_settings().dbt_env().items()):
        # The key only reaches DuckDB at connection time (the profile's plugin): it changes
        # nothing dbt parses, and no digest of it should sit beside the manifest.
        if name != "COMMONGROUND_PSEUDONYM_KEY":
            digest.update(f"{name}={value}\0".encode())
    return digest.hexdigest()


def ensure_manifest(force: bool = False) -> Path:
    """Runs ``dbt parse`` unless the manifest is up to date with the project (or ``force``).

    The manifest is up to date when it exists and was parsed from the same inputs
    (:func:`parse_inputs_digest`, recorded beside it): a fresh clone, CI, a test's own target
    folder or any edit under ``dbt_project/`` parses again; a run with nothing changed skips
    dbt's start-up and parse (about 5 s). A damaged digest file counts as absent (parse
    again, with a warning naming it). Processes that start together (the Dagster daemon
    and webserver each load the code location) parse one at a time: the second waits and
    then finds the manifest up to date instead of reading it half written.

    Returns:
        The manifest's path.
    """
    from dagster_dbt import DbtCliResource  # deferred with dbt itself (see _dbt_project)

    project = dbt_project()
    target = Path(project.target_path)
    stamp = target / PARSE_STAMP
    digest = parse_inputs_digest()
    if not force and project.manifest_path.exists() and read_digest(stamp) == digest:
        return project.manifest_path
    target.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(target / PARSE_LOCK):
        if not force and project.manifest_path.exists() and read_digest(stamp) == digest:
            return project.manifest_path
        dbt = DbtCliResource(project_dir=project, dbt_executable=dbt_executable())
        # Parse with the environment the builds use, so they can reuse dbt's partial parse
        # instead of parsing the whole project again in every step.
        with dbt_environment():
            invocation = dbt.cli(["parse", "--quiet"], target_path=project.target_path)
        invocation.wait()
        write_atomically(stamp, digest + "\n")
    return project.manifest_path


def read_manifest(path: Path | None = None) -> Mapping[str, Any]:
    """dbt's manifest (by default the project's), parsed once per process per version of it.

    A code-location load reads the manifest in several modules; they share one parse. The
    cache is keyed by the file's path, size, modification and change times, so a manifest
    that ``dbt parse`` rewrote is read again. The mapping is shared: never change it.
    """
    path = Path(path or dbt_project().manifest_path).resolve()
    stat = path.stat()
    return _read_manifest(path, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


@functools.lru_cache(maxsize=2)
def _read_manifest(path: Path, *stat: int) -> Mapping[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def invocation_target(name: str, run_id: str) -> Path:
    """A fresh dbt target folder for one build step, under the configured target folder.

    Older step folders beyond the newest ``KEEP_INVOCATIONS`` are removed, so the target
    folder does not grow with every run.
    """
    root = get_settings().dbt_target_dir
    root.mkdir(parents=True, exist_ok=True)
    previous = sorted(
        (p for p in root.iterdir() if p.is_dir() and p.name.startswith("dbt_")),
        key=lambda p: p.stat().st_mtime,
    )
    for old in previous[: max(0, len(previous) - KEEP_INVOCATIONS + 1)]:
        shutil.rmtree(old, ignore_errors=True)
    return root / f"{name}-{run_id[:8]}-{time.time_ns() % 10**9:09d}"
