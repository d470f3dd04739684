"""Alerts: a failed run, a failed blocking check or a late delivery, told once.

An :class:`Alert` has a deterministic id (:func:`alert_id_for`), so the same failure seen
twice (two sensor ticks, a sensor and a retry) is one alert. :func:`raise_alerts` posts each
new alert to the alert webhook (a Slack-compatible incoming webhook, when
``COMMONGROUND_ALERT_WEBHOOK_URL`` is set), writes it to an outbox under
``<data dir>/state/alerts/outbox/`` and records it in ``governance.alerts`` when the
warehouse is free (:func:`flush_outbox`). While a run writes the warehouse the outbox waits;
the run's ``governance/alerts`` asset (:func:`record_outbox`) or the next flush records it.

The webhook URL usually embeds a token: it is never logged, stored or put in an error. Only
whether the webhook took the alert is kept (``webhook_status``).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from orchestration import governance
from orchestration.faults import explain_chain
from orchestration.lease import WarehouseBusyError, warehouse_lease
from orchestration.settings import Settings
from orchestration.state import exclusive_lock, read_json_state, write_atomically

logger = logging.getLogger(__name__)

KINDS = {"run_failure": "ERROR", "blocking_check_failed": "ERROR", "late_delivery": "WARN"}
"""Every kind of alert and its usual severity."""

SEVERITIES = ("ERROR", "WARN")

NOT_CONFIGURED = "not configured"
"""``webhook_status`` when no webhook URL is set."""

WEBHOOK_TIMEOUT_SECONDS = 10.0

REMEMBER_DAYS = 35
"""How long the state record remembers a raised alert id (``governance.alerts`` keeps them
for good; the record only spares a look at the warehouse)."""

MAX_STEPS_SHOWN = 5
MAX_LINE_CHARS = 300
REDACTED = "<webhook URL>"

_COLUMNS = (  # of governance.alerts written from an outbox file
    "alert_id",
    "raised_at",
    "kind",
    "severity",
    "subject",
    "run_id",
    "message",
    "webhook_status",
)


_MODULE_PREFIX = re.compile(r"^(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_]\w*:)")


@dataclass(frozen=True)
class Alert:
    """Something a person must hear about.

    Attributes:
        alert_id: Deterministic id (:func:`alert_id_for`).
        kind: ``run_failure``, ``blocking_check_failed`` or ``late_delivery``.
        severity: ``ERROR`` or ``WARN``.
        subject: The job, the check (``asset :: check``) or the dataset concerned.
        run_id: The Dagster run in which it was seen.
        message: What happened, in plain words.
        raised_at: When it was raised (UTC).
    """

    alert_id: str
    kind: str
    severity: str
    subject: str
    run_id: str
    message: str
    raised_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"alert kind must be one of {sorted(KINDS)}, not {self.kind!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"alert severity must be ERROR or WARN, not {self.severity!r}")
        if self.raised_at.tzinfo is None:
            raise ValueError("raised_at must be timezone-aware")


def alert_id_for(kind: str, subject: str, run_id_or_period: str) -> str:
    """The id of an alert: SHA-256 (hex) of its kind, subject and run id or period.

    A run's failure is keyed by its run id; a late delivery by the UTC date, so a late
    dataset alerts at most once a day however many runs see it.
    """
    text = "\x1f".join((kind, subject, run_id_or_period))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run_failure_alert(job_name: str, run_id: str, message: str) -> Alert:
    """An ERROR alert for a failed run of ``job_name``."""
    kind = "run_failure"
    return Alert(alert_id_for(kind, job_name, run_id), kind, "ERROR", job_name, run_id, message)


def blocking_check_alert(asset: str, check_name: str, run_id: str, description: str) -> Alert:
    """An ERROR alert for a failed blocking check of ``asset`` in a run."""
    subject = f"{asset} :: {check_name}"
    message = description or f"The blocking check {check_name} of {asset} failed."
    kind = "blocking_check_failed"
    return Alert(alert_id_for(kind, subject, run_id), kind, "ERROR", subject, run_id, message)


def late_delivery_alert(
    dataset: str, run_id: str, sla: str, observed: str = "", day: date | None = None
) -> Alert:
    """A WARN alert for a dataset whose latest delivery is late against its SLA; one a day.

    Args:
        dataset: The dataset (its asset key).
        run_id: The run whose freshness check found it late.
        sla: The SLA, as the check describes it.
        observed: What the check observed (the delivery's age).
        day: The UTC day the alert belongs to (default: today).
    """
    period = (day or datetime.now(UTC).date()).isoformat()
    message = f"{dataset} is late against its delivery SLA. SLA: {sla or 'see its contract'}"
    if observed:
        message += f" Observed: {observed}."
    kind = "late_delivery"
    return Alert(alert_id_for(kind, dataset, period), kind, "WARN", dataset, run_id, message)


def root_error_line(errors: Sequence[tuple[str, str]]) -> str:
    """One line for a step's error chain (outermost first): an operational fault explained
    (:func:`orchestration.faults.explain_chain`), else the innermost error's first line."""
    explained = explain_chain(errors)
    if explained:
        return _clip(explained)
    for _, message in reversed(errors):
        lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
        if lines:
            line = _MODULE_PREFIX.sub("", lines[0])
            if line.endswith(":") and len(lines) > 1:
                line = f"{line} {lines[1]}"
            return _clip(line)
    return "no error message was recorded"


def run_failure_message(
    job_name: str,
    step_errors: Mapping[str, Sequence[tuple[str, str]]],
    run_errors: Sequence[tuple[str, str]] = (),
) -> str:
    """What a failed run's alert says: the failed steps, each with its root error's line.

    Args:
        job_name: The run's job.
        step_errors: ``{step key: (class name, message) chain}`` of every failed step.
        run_errors: The run's own error chain, used when no step failed (the run failed
            before or between steps).
    """
    if not step_errors:
        return f"{job_name} failed outside its steps: {root_error_line(run_errors)}"
    steps = sorted(step_errors)
    lines = [f"{job_name} failed in {len(steps)} step(s): {', '.join(steps)}."]
    lines += [f"{s}: {root_error_line(step_errors[s])}" for s in steps[:MAX_STEPS_SHOWN]]
    if len(steps) > MAX_STEPS_SHOWN:
        lines.append(f"... and {len(steps) - MAX_STEPS_SHOWN} more step(s).")
    return "\n".join(lines)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_LINE_CHARS else text[: MAX_LINE_CHARS - 1] + "…"


def _mrkdwn(text: str) -> str:
    """Text escaped for Slack mrkdwn (``&``, ``<`` and ``>`` are control characters)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_TITLES = {
    "run_failure": "Run failed",
    "blocking_check_failed": "Blocking check failed",
    "late_delivery": "Late delivery",
}


def slack_payload(alert: Alert) -> dict[str, Any]:
    """The alert as a Slack incoming-webhook message: ``text`` (the notification and the
    fallback) and ``blocks`` (a header, the facts as fields, the message)."""
    title = f"{_TITLES[alert.kind]}: {alert.subject}"
    facts = [
        ("Kind", alert.kind),
        ("Severity", alert.severity),
        ("Subject", alert.subject),
        ("Run", alert.run_id or "none"),
    ]
    return {
        "text": _mrkdwn(f"[{alert.severity}] {title}"),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{name}*\n{_mrkdwn(value)[:1900]}"}
                    for name, value in facts
                ],
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": _mrkdwn(alert.message)[:2900]}},
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"Common Ground alert {alert.alert_id[:12]} raised "
                        f"{alert.raised_at.isoformat(timespec='seconds')}",
                    }
                ],
            },
        ],
    }


def redact(text: str, url: str | None) -> str:
    """``text`` with the webhook URL, and every part of it that may hold a token, removed."""
    if not url:
        return text
    parts = urllib.parse.urlsplit(url)
    secrets = {url, url.split("://", 1)[-1], parts.path, parts.query, parts.netloc}
    secrets |= {p for p in parts.path.split("/") if len(p) >= 6}
    secrets |= {v for _, v in urllib.parse.parse_qsl(parts.query) if len(v) >= 6}
    for secret in sorted((s for s in secrets if s and s != "/"), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def post_webhook(
    url: str, payload: Mapping[str, Any], timeout: float = WEBHOOK_TIMEOUT_SECONDS
) -> str:
    """POSTs ``payload`` as JSON to the webhook and says how it went; never raises.

    Returns:
        ``delivered (HTTP <status>)``, or ``failed: <reason>``: the reason never contains
        the URL (it may embed a token).
    """
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in {"http", "https"}:
        return "failed: the webhook URL must start with https:// (or http://)"
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode("utf-8"),
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "commonground-alerts"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
        if 200 <= status < 300:
            return f"delivered (HTTP {status})"
        return f"failed: HTTP {status}"
    except urllib.error.HTTPError as exc:
        body = ""
        with contextlib.suppress(Exception):
            body = exc.read(200).decode("utf-8", "replace").strip().splitlines()[0]
        reason = f"HTTP {exc.code}" + (f": {body}" if body else f" {exc.reason}")
    except urllib.error.URLError as exc:
        reason = str(exc.reason)
    except TimeoutError:
        reason = f"no answer within {timeout:g}s"
    except (OSError, http.client.HTTPException, ValueError) as exc:
        reason = f"{type(exc).__name__}: {exc}"
    return "failed: " + _clip(redact(reason, url).replace("\n", " "))


def alerts_dir(data_dir: Path) -> Path:
    """``<data dir>/state/alerts``: the record of raised alerts and the outbox."""
    return data_dir / "state" / "alerts"


def outbox_dir(data_dir: Path) -> Path:
    """Alerts raised but not yet recorded in ``governance.alerts``, one JSON file each."""
    return alerts_dir(data_dir) / "outbox"


def _record_path(data_dir: Path) -> Path:
    return alerts_dir(data_dir) / "raised.json"


def _alerts_lock(data_dir: Path):
    """Serialises raising alerts (sensor threads and processes) on one data directory."""
    return exclusive_lock(alerts_dir(data_dir) / "alerts.lock")


def _read_record(data_dir: Path) -> dict[str, str]:
    raised = read_json_state(_record_path(data_dir)).get("raised", {})
    return raised if isinstance(raised, dict) else {}


def _write_record(data_dir: Path, raised: dict[str, str]) -> None:
    horizon = (datetime.now(UTC) - timedelta(days=REMEMBER_DAYS)).isoformat()
    kept = {k: v for k, v in raised.items() if str(v) >= horizon}
    write_atomically(_record_path(data_dir), json.dumps({"raised": kept}, sort_keys=True))


def _recorded_ids(settings: Settings, ids: Iterable[str]) -> set[str]:
    """Which of ``ids`` ``governance.alerts`` holds; empty when the warehouse is busy."""
    ids = list(ids)
    if not ids or not settings.warehouse_path.exists():
        return set()
    try:
        with (
            warehouse_lease(settings.data_dir, wait_seconds=0, purpose="reading alerts"),
            duckdb.connect(str(settings.warehouse_path), read_only=True) as con,
        ):
            exists = con.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = 'governance' and table_name = 'alerts'"
            ).fetchone()[0]
            if not exists:
                return set()
            rows = con.execute(
                "select alert_id from governance.alerts where alert_id in (select unnest(?))",
                [ids],
            ).fetchall()
    except (WarehouseBusyError, duckdb.Error):
        return set()
    return {r[0] for r in rows}


def raise_alerts(
    alerts: Iterable[Alert], settings: Settings, timeout: float = WEBHOOK_TIMEOUT_SECONDS
) -> list[bool]:
    """Raises each alert not raised before: posts it to the webhook (when one is set),
    writes it to the outbox and records it in ``governance.alerts`` if the warehouse is free.

    Webhook failures are recorded in ``webhook_status``, never raised.

    Returns:
        For each alert, whether it was raised now (False: raised before).
    """
    alerts = list(alerts)
    url = settings.alert_webhook_url
    outbox = outbox_dir(settings.data_dir)
    raised_now: set[str] = set()
    with _alerts_lock(settings.data_dir):
        record = _read_record(settings.data_dir)
        fresh: dict[str, Alert] = {}
        for alert in alerts:
            known = alert.alert_id in record or (outbox / f"{alert.alert_id}.json").exists()
            if not known:
                fresh.setdefault(alert.alert_id, alert)
        recorded = _recorded_ids(settings, fresh)
        for alert_id in recorded:
            record[alert_id] = fresh.pop(alert_id).raised_at.isoformat()
        for alert in fresh.values():
            alert = replace(
                alert, subject=redact(alert.subject, url), message=redact(alert.message, url)
            )
            status = post_webhook(url, slack_payload(alert), timeout) if url else NOT_CONFIGURED
            if status.startswith("failed"):
                logger.warning(
                    "alert %s (%s) did not reach the webhook: %s",
                    alert.alert_id[:12],
                    alert.kind,
                    status,
                )
            entry = asdict(alert) | {
                "raised_at": alert.raised_at.isoformat(),
                "webhook_status": status,
            }
            write_atomically(outbox / f"{alert.alert_id}.json", json.dumps(entry))
            record[alert.alert_id] = alert.raised_at.isoformat()
            _write_record(settings.data_dir, record)
            raised_now.add(alert.alert_id)
        if recorded and not fresh:
            _write_record(settings.data_dir, record)
    flush_outbox(settings, wait_seconds=0)
    return [a.alert_id in raised_now for a in alerts]


def raise_alert(alert: Alert, settings: Settings, timeout: float = WEBHOOK_TIMEOUT_SECONDS) -> bool:
    """Raises one alert (:func:`raise_alerts`); False when it was raised before."""
    return raise_alerts([alert], settings, timeout)[0]


def pending_alerts(data_dir: Path) -> list[Path]:
    """The alert files waiting in the outbox, in order of their ids."""
    return sorted(outbox_dir(data_dir).glob("*.json"))


def record_outbox(con: duckdb.DuckDBPyConnection, settings: Settings) -> int:
    """Records the outbox in ``governance.alerts`` through an open warehouse connection (the
    caller holds the warehouse, e.g. a run's ``warehouse`` resource) and empties it.

    Returns:
        How many alerts were added (one already in the table is not added again).
    """
    governance.ensure(con, "alerts")
    entries: dict[str, tuple[Path, dict[str, Any]]] = {}
    for path in pending_alerts(settings.data_dir):
        entry = read_json_state(path)
        if all(entry.get(c) is not None for c in _COLUMNS if c != "run_id"):
            entries.setdefault(str(entry["alert_id"]), (path, entry))
        elif entry:
            logger.warning("ignoring alert file %s: it lacks some of %s", path.name, _COLUMNS)
    if not entries:
        return 0
    known = {
        r[0]
        for r in con.execute(
            "select alert_id from governance.alerts where alert_id in (select unnest(?))",
            [list(entries)],
        ).fetchall()
    }
    rows = [[e.get(c) for c in _COLUMNS] for i, (_, e) in entries.items() if i not in known]
    con.execute("begin transaction")
    try:
        if rows:
            con.executemany(
                f"insert into governance.alerts ({', '.join(_COLUMNS)}, recorded_at) values "
                "(?, ?::timestamptz, ?, ?, ?, ?, ?, ?, current_timestamp)",
                rows,
            )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    for path, _ in entries.values():
        path.unlink(missing_ok=True)
    return len(rows)


def flush_outbox(settings: Settings, wait_seconds: float = 0) -> int:
    """Records the outbox in ``governance.alerts``, holding the warehouse lease.

    When another process writes the warehouse (after ``wait_seconds``) or it cannot be
    opened, the outbox is left for the next flush or run; nothing is raised.

    Returns:
        How many alerts were recorded.
    """
    if not pending_alerts(settings.data_dir):
        return 0
    try:
        with (
            warehouse_lease(
                settings.data_dir, wait_seconds=wait_seconds, purpose="recording alerts"
            ),
            duckdb.connect(str(settings.warehouse_path)) as con,
        ):
            return record_outbox(con, settings)
    except WarehouseBusyError:
        logger.info("the warehouse is busy: alerts wait in the outbox for the next run")
    except duckdb.Error as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        logger.warning("alerts wait in the outbox: the warehouse cannot be written (%s)", first)
    return 0
