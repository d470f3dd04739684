"""Which incremental dbt models must be rebuilt from scratch, and the record of their builds.

Staging models are incremental: each run processes only the loads newer than any already
staged, replacing their keys' rows (``delete+insert`` on the contract's primary key). That is
right only while the model's SQL, the macros it calls, its contract (the source it reads)
and every model upstream are the ones it was built with. So each incremental model has a
*fingerprint* over all of those (and a digest of the pseudonymisation key, which every
pseudonym depends on), and the fingerprint it was last built with is recorded in
``<data dir>/state/incremental_models.json``. Before dbt runs, every incremental model
whose fingerprint differs from its record, or that has none, is named to dbt for a full
refresh (``COMMONGROUND_FULL_REFRESH``, read by the project's ``should_full_refresh``
macro); after dbt ran, the models it built successfully are recorded.

A damaged or missing record means a full refresh of every incremental model: always safe.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from orchestration.state import exclusive_lock, read_json_state, write_atomically

FULL_REFRESH_VARIABLE = "COMMONGROUND_FULL_REFRESH"
"""Environment variable naming the models dbt rebuilds from scratch (comma-separated, ``*``
for all); read by ``dbt_project/macros/should_full_refresh.sql``."""

STATE_FILE = "incremental_models.json"


def state_path(data_dir: Path) -> Path:
    """Where the fingerprints of the last builds are recorded."""
    return data_dir / "state" / STATE_FILE


def _digest(*parts: Any) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(json.dumps(part, sort_keys=True, default=str).encode())
        digest.update(b"\0")
    return digest.hexdigest()


def key_digest(key: str) -> str:
    """A digest that changes with the pseudonymisation key and reveals nothing of it."""
    return hmac.new(key.encode(), b"commonground-incremental-fingerprint", "sha256").hexdigest()


def _macro_closure(manifest: Mapping[str, Any], macros: list[str]) -> list[str]:
    """The SQL of ``macros`` and of every macro they call, in a stable order."""
    seen: dict[str, str] = {}
    pending = list(macros)
    while pending:
        unique_id = pending.pop()
        if unique_id in seen:
            continue
        macro = manifest.get("macros", {}).get(unique_id) or {}
        seen[unique_id] = macro.get("macro_sql", "")
        pending += (macro.get("depends_on") or {}).get("macros") or []
    return [f"{k}\n{seen[k]}" for k in sorted(seen)]


def fingerprints(manifest: Mapping[str, Any], key: str) -> dict[str, str]:
    """The fingerprint of every model, seed and source of a dbt manifest, by unique id.

    A node's fingerprint covers its SQL checksum, its configuration, its columns (a
    source's columns come from its contract), the macros it calls (and theirs), the
    pseudonymisation key's digest and its parents' fingerprints.
    """
    nodes = {**manifest.get("sources", {}), **manifest.get("nodes", {})}
    done: dict[str, str] = {}
    secret = key_digest(key)

    def visit(unique_id: str) -> str:
        if unique_id in done:
            return done[unique_id]
        node = nodes.get(unique_id) or {}
        done[unique_id] = ""  # guards against a cycle; dbt forbids them anyway
        depends = node.get("depends_on") or {}
        parents = [visit(p) for p in sorted(depends.get("nodes") or [])]
        config = dict(node.get("config") or {})
        done[unique_id] = _digest(
            unique_id,
            (node.get("checksum") or {}).get("checksum"),
            config,
            sorted((node.get("columns") or {}).items()),
            _macro_closure(manifest, depends.get("macros") or []),
            secret,
            parents,
        )
        return done[unique_id]

    for unique_id in nodes:
        if unique_id.split(".")[0] in ("model", "seed", "source", "snapshot"):
            visit(unique_id)
    return done


def incremental_models(manifest: Mapping[str, Any]) -> dict[str, str]:
    """Unique id to model name of every incremental model."""
    return {
        unique_id: node["name"]
        for unique_id, node in manifest.get("nodes", {}).items()
        if node.get("resource_type") == "model"
        and (node.get("config") or {}).get("materialized") == "incremental"
    }


def models_to_refresh(manifest: Mapping[str, Any], key: str, data_dir: Path) -> list[str]:
    """Names of the incremental models that must be rebuilt from scratch this run."""
    recorded = read_json_state(state_path(data_dir)).get("models") or {}
    current = fingerprints(manifest, key)
    return sorted(
        name
        for unique_id, name in incremental_models(manifest).items()
        if recorded.get(unique_id) != current[unique_id]
    )


def record_builds(
    manifest: Mapping[str, Any], key: str, data_dir: Path, run_results: Mapping[str, Any]
) -> None:
    """Records the fingerprint of each incremental model dbt built successfully.

    A model that failed loses its record, so the next run rebuilds it from scratch.
    """
    path = state_path(data_dir)
    current = fingerprints(manifest, key)
    incremental = incremental_models(manifest)
    with exclusive_lock(path.with_suffix(".lock")):
        models = dict(read_json_state(path).get("models") or {})
        for result in run_results.get("results") or []:
            unique_id = result.get("unique_id")
            if unique_id not in incremental:
                continue
            if result.get("status") == "success":
                models[unique_id] = current[unique_id]
            else:
                models.pop(unique_id, None)
        write_atomically(path, json.dumps({"models": models}, indent=2, sort_keys=True))


def forget_builds(data_dir: Path) -> None:
    """Forgets every recorded build: the next run rebuilds every incremental model."""
    state_path(data_dir).unlink(missing_ok=True)


def person_index_path(data_dir: Path) -> Path:
    """Where the person linkage records what its stored index was built with (its model,
    key and threshold): a run continues from the index only when they are this run's."""
    return data_dir / "state" / "person_index.json"


def forget_everything(data_dir: Path) -> None:
    """Forgets the recorded builds and the person index's record: the next run rebuilds
    every incremental model and the person index from scratch."""
    forget_builds(data_dir)
    person_index_path(data_dir).unlink(missing_ok=True)


def full_refresh_environment(models: list[str]) -> dict[str, str]:
    """The environment variable naming ``models`` to dbt for a full refresh."""
    return {FULL_REFRESH_VARIABLE: ",".join(models)}
