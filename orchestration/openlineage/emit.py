"""Emission of a run's OpenLineage events: to a file per run and to a receiver, once.

See :mod:`orchestration.openlineage` for where the events go.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import RunEvent
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.http import (
    ApiKeyTokenProvider,
    HttpConfig,
    HttpTransport,
    TokenProvider,
)

from orchestration.openlineage.events import MAX_ERROR_CHARS, run_events
from orchestration.settings import Settings
from orchestration.state import exclusive_lock, read_json_state, write_atomically

logger = logging.getLogger(__name__)

LINEAGE_ENDPOINT = "api/v1/lineage"
"""Added to a receiver URL that has no path (Marquez and most receivers listen there)."""

HTTP_TIMEOUT_SECONDS = 5.0
NOT_CONFIGURED = "not configured"

CLIENT_CONFIG: dict[str, Any] = {
    # The client would otherwise take settings from OPENLINEAGE__* variables and
    # openlineage.yml: never copy environment variables (secrets) or git remotes into events.
    "facets": {"environment_variables": [], "source_code_location": {"disabled": True}},
    "filters": [],
    "dataset": {"reducing_enabled": False},
}

NO_RETRY: dict[str, Any] = {
    # One attempt per event, and none after the first failure (see _post): a receiver that
    # is down costs one timeout and one log line, not a retry storm with a line per retry.
    "total": 0,
    "connect": 0,
    "read": 0,
    "status": 0,
    "backoff_factor": 0,
    "status_forcelist": [],
    "allowed_methods": ["POST"],
}

_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


@dataclass(frozen=True)
class Emission:
    """What :func:`emit_run` did with a run.

    Attributes:
        run_id: The Dagster run.
        events: How many events were emitted now (0 when it was emitted before).
        path: The file the events were written to, if any.
        http: ``not configured``, ``delivered (<n> events)`` or ``failed ...: <reason>``.
        already_emitted: The run had been emitted before; nothing was sent again.
        error: Why nothing was emitted (empty when all went well).
    """

    run_id: str
    events: int = 0
    path: Path | None = None
    http: str = NOT_CONFIGURED
    already_emitted: bool = False
    error: str = ""


def events_dir(data_dir: Path) -> Path:
    """``<data dir>/openlineage``: one ``<dagster run id>.jsonl`` of events per run."""
    return data_dir / "openlineage"


def state_dir(data_dir: Path) -> Path:
    """``<data dir>/state/openlineage``: one record per Dagster run already emitted."""
    return data_dir / "state" / "openlineage"


def emit_run(
    instance: dg.DagsterInstance,
    run_id: str,
    assets: Any,
    settings: Settings,
    timeout: float = HTTP_TIMEOUT_SECONDS,
) -> Emission:
    """Emits the OpenLineage events of a finished Dagster run, once; never raises.

    The events (:func:`run_events`) go to ``<data dir>/openlineage/<run id>.jsonl`` and, when
    ``settings.openlineage_url`` is set, to that receiver. A run already emitted (by the
    sensors or by ``commonground run``) is left alone. A failure is logged in one line that
    never holds the API key; a receiver that fails is not tried again for this run (the file
    keeps the events).

    Args:
        instance: The Dagster instance that recorded the run.
        run_id: The Dagster run, finished (succeeded, failed or canceled).
        assets: The code location's assets (see :func:`describe_assets`).
        settings: The data directory and the receiver.
        timeout: Seconds to wait for the receiver per event.
    """
    try:
        return _emit_run(instance, run_id, assets, settings, timeout)
    except Exception as exc:  # lineage must never fail a run or a sensor; the log says why
        reason = _redact(f"{type(exc).__name__}: {exc}", settings)
        logger.error("OpenLineage events of run %s were not emitted: %s", run_id, reason)
        return Emission(run_id=run_id, error=reason)


def _emit_run(instance, run_id: str, assets: Any, settings: Settings, timeout: float) -> Emission:
    if not _RUN_ID.fullmatch(run_id):
        raise ValueError(f"not a Dagster run id: {run_id!r}")
    record = instance.get_run_record_by_id(run_id)
    if record is None or not record.dagster_run.is_finished:
        state = "unknown" if record is None else "not finished"
        return Emission(run_id=run_id, error=f"run {run_id} is {state}; nothing emitted")
    marker = state_dir(settings.data_dir) / f"{run_id}.json"
    with _emission_lock(settings.data_dir):
        if marker.exists():
            done = read_json_state(marker)
            return Emission(run_id=run_id, already_emitted=True, http=str(done.get("http", "")))
        events = run_events(instance, run_id, assets, settings)
        path = _write_file(events, events_dir(settings.data_dir) / f"{run_id}.jsonl")
        http = _post(events, settings, run_id, timeout)
        write_atomically(
            marker,
            json.dumps(
                {
                    "run_id": run_id,
                    "emitted_at": datetime.now(UTC).isoformat(),
                    "events": len(events),
                    "file": str(path) if path else None,
                    "http": http,
                },
                sort_keys=True,
            ),
        )
    logger.info(
        "OpenLineage: %d event(s) of run %s written to %s; receiver %s",
        len(events),
        run_id,
        path or "no file (nothing materialized)",
        http,
    )
    return Emission(run_id=run_id, events=len(events), path=path, http=http)


def _emission_lock(data_dir: Path):
    """Serialises emission on one data directory (the sensors' and the CLI's processes)."""
    return exclusive_lock(state_dir(data_dir) / "emit.lock")


def _write_file(events: Sequence[RunEvent], path: Path) -> Path | None:
    """Writes the events to ``path`` through the client's FileTransport (a line each)."""
    if not events:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # left by an attempt that died before it was recorded
    client = OpenLineageClient(
        transport=FileTransport(FileConfig(log_file_path=str(path), append=True)),
        config=CLIENT_CONFIG,
    )
    for event in events:
        client.emit(event)
    return path


def http_config(settings: Settings, timeout: float = HTTP_TIMEOUT_SECONDS) -> HttpConfig:
    """The HTTP transport's configuration for ``settings.openlineage_url``.

    A URL without a path gets the usual endpoint ``api/v1/lineage``; a URL with a path is
    taken as the endpoint itself. The API key, when set, is sent as ``Authorization: Bearer``.
    """
    url = (settings.openlineage_url or "").strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("COMMONGROUND_OPENLINEAGE_URL must start with https:// (or http://)")
    base = f"{parts.scheme}://{parts.netloc}/"
    endpoint = parts.path.lstrip("/") or LINEAGE_ENDPOINT
    if parts.query:
        endpoint += f"?{parts.query}"
    key = settings.openlineage_api_key
    return HttpConfig(
        url=base,
        endpoint=endpoint,
        timeout=timeout,
        auth=ApiKeyTokenProvider({"apiKey": key}) if key else TokenProvider({}),
        retry=dict(NO_RETRY),
    )


def _post(events: Sequence[RunEvent], settings: Settings, run_id: str, timeout: float) -> str:
    """Posts the events to the receiver in order, stopping at the first failure."""
    if not settings.openlineage_url:
        return NOT_CONFIGURED
    sent = 0
    try:
        client = OpenLineageClient(
            transport=HttpTransport(http_config(settings, timeout)), config=CLIENT_CONFIG
        )
        try:
            for event in events:
                client.emit(event)
                sent += 1
        finally:
            client.close()
    except Exception as exc:  # the receiver is optional: the file keeps the events
        reason = _redact(f"{type(exc).__name__}: {exc}", settings)
        logger.warning(
            "OpenLineage receiver %s took %d of %d event(s) of run %s: %s",
            _receiver(settings),
            sent,
            len(events),
            run_id,
            reason,
        )
        return f"failed after {sent} of {len(events)} event(s): {reason}"
    return f"delivered ({sent} events)"


def _receiver(settings: Settings) -> str:
    """The receiver's scheme, host and port, for log lines (no path, query or user)."""
    parts = urllib.parse.urlsplit(settings.openlineage_url or "")
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def _redact(text: str, settings: Settings) -> str:
    """``text`` on one line, clipped, with the API key (and any URL password) removed."""
    secrets = [settings.openlineage_api_key]
    with contextlib.suppress(ValueError):
        secrets.append(urllib.parse.urlsplit(settings.openlineage_url or "").password)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<redacted>")
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"
