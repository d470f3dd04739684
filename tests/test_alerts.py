"""Alerts reach people once, reach ``governance.alerts``, and never leak the webhook's token.

The webhook is a real HTTP server on 127.0.0.1; the warehouse a temporary DuckDB file; a
busy warehouse is another process holding the writer lease; the sensors evaluate runs that
really failed in a temporary Dagster instance, the way the daemon hands them over.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster._core.remote_origin import RegisteredCodeLocationOrigin
from dagster_duckdb import DuckDBResource
from services import WEBHOOK_TOKEN as TOKEN

from orchestration import alerts
from orchestration.defs.governance.alerts import ALERTS_KEY
from orchestration.defs.governance.alerts import alerts as alerts_asset
from orchestration.defs.pipeline.alerts import alert_on_failed_checks, alert_on_run_failure
from orchestration.settings import get_settings

REPO = Path(__file__).resolve().parent.parent
"""A fake token in the webhook URL's path, as a Slack incoming webhook carries one."""

SLA = "The latest delivery is at most 8 days old (delivered every 7 days, up to 1 days late)."


@pytest.fixture
def configured(data_dir, webhook, monkeypatch):
    """Settings of a fresh data directory whose alerts go to the local webhook."""
    monkeypatch.setenv("COMMONGROUND_ALERT_WEBHOOK_URL", webhook.url)
    return get_settings()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/services/{TOKEN}"


def alert_rows(settings, columns="kind, severity, subject, run_id, message, webhook_status"):
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(
            f"select {columns} from governance.alerts order by kind, subject"
        ).fetchall()


def assert_token_nowhere(settings, *texts: str) -> None:
    """The token is in no warehouse row, no file under the data directory, no text given."""
    if settings.warehouse_path.exists():
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            tables = con.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
            for schema, name in tables:
                rows = con.execute(f'select * from "{schema}"."{name}"').fetchall()
                assert TOKEN not in repr(rows) and "xoxbFake" not in repr(rows), name
    for path in settings.data_dir.rglob("*"):
        if path.is_file():
            assert b"xoxbFake" not in path.read_bytes(), path
    for text in texts:
        assert "xoxbFake" not in text


def an_alert(run_id: str = "run-1") -> alerts.Alert:
    return alerts.run_failure_alert("nightly", run_id, "nightly failed in 1 step(s): load.")


def test_the_webhook_gets_a_slack_message_with_the_alerts_facts(configured, webhook):
    alert = alerts.blocking_check_alert("raw/dwp__benefits", "nino_valid", "run-7", "NINOs <valid>")

    assert alerts.raise_alert(alert, configured)

    (request,) = webhook.requests
    assert request["headers"]["Content-Type"] == "application/json"
    payload = json.loads(request["body"])
    assert "Blocking check failed: raw/dwp__benefits :: nino_valid" in payload["text"]
    header, facts, message = payload["blocks"][:3]
    assert header["type"] == "header" and header["text"]["type"] == "plain_text"
    shown = " ".join(f["text"] for f in facts["fields"])
    for fact in ("blocking_check_failed", "ERROR", "raw/dwp__benefits :: nino_valid", "run-7"):
        assert fact in shown
    assert all(f["type"] == "mrkdwn" for f in facts["fields"])
    # < and > are Slack's link syntax: escaped so a message cannot forge a link.
    assert message["text"] == {"type": "mrkdwn", "text": "NINOs &lt;valid&gt;"}


def test_ids_make_one_alert_of_one_failure_and_one_late_alert_a_day():
    assert alerts.alert_id_for("run_failure", "nightly", "r1") == an_alert("r1").alert_id
    assert an_alert("r1").alert_id != an_alert("r2").alert_id
    monday = alerts.late_delivery_alert("raw/x", "r1", SLA, day=date(2026, 1, 5))
    again = alerts.late_delivery_alert("raw/x", "r2", SLA, day=date(2026, 1, 5))
    tuesday = alerts.late_delivery_alert("raw/x", "r3", SLA, day=date(2026, 1, 6))
    assert monday.alert_id == again.alert_id != tuesday.alert_id
    assert monday.severity == "WARN" and SLA in monday.message


def test_an_alert_raised_twice_is_posted_and_recorded_once(configured, webhook):
    assert alerts.raise_alert(an_alert(), configured) is True
    assert alerts.raise_alert(an_alert(), configured) is False

    assert len(webhook.requests) == 1
    assert alert_rows(configured) == [
        (
            "run_failure",
            "ERROR",
            "nightly",
            "run-1",
            "nightly failed in 1 step(s): load.",
            "delivered (HTTP 200)",
        )
    ]
    assert alerts.pending_alerts(configured.data_dir) == []
    # The state record lost: the table still knows the alert, so it is not sent again.
    (alerts.alerts_dir(configured.data_dir) / "raised.json").unlink()
    assert alerts.raise_alert(an_alert(), configured) is False
    assert len(webhook.requests) == 1 and len(alert_rows(configured)) == 1


def test_without_a_webhook_alerts_are_still_recorded(data_dir, monkeypatch):
    monkeypatch.delenv("COMMONGROUND_ALERT_WEBHOOK_URL", raising=False)
    settings = get_settings()

    alerts.raise_alert(an_alert(), settings)

    assert [r[-1] for r in alert_rows(settings)] == ["not configured"]


@pytest.mark.parametrize(
    ("failure", "expected"),
    [("server error", "HTTP 500: invalid_token"), ("closed port", "Connection refused")],
)
def test_a_failing_webhook_is_recorded_as_failed_without_its_url(
    failure, expected, data_dir, webhook, monkeypatch, caplog, capfd
):
    caplog.set_level(logging.DEBUG)
    webhook.status = 500
    url = webhook.url if failure == "server error" else closed_port_url()
    monkeypatch.setenv("COMMONGROUND_ALERT_WEBHOOK_URL", url)
    settings = get_settings()
    alert = alerts.run_failure_alert("nightly", "run-1", f"could not reach {url}")

    assert alerts.raise_alert(alert, settings) is True

    ((message, status),) = alert_rows(settings, "message, webhook_status")
    assert status.startswith("failed: ") and expected in status
    assert message == f"could not reach {alerts.REDACTED}"
    out, err = capfd.readouterr()
    assert_token_nowhere(settings, caplog.text, out, err, status)
    assert "did not reach the webhook" in caplog.text


def test_a_webhook_that_does_not_answer_is_given_up_on(data_dir, webhook, monkeypatch):
    webhook.delay = 2.0
    monkeypatch.setenv("COMMONGROUND_ALERT_WEBHOOK_URL", webhook.url)

    started = time.monotonic()
    alerts.raise_alert(an_alert(), get_settings(), timeout=0.3)

    assert time.monotonic() - started < 2.0
    ((status,),) = alert_rows(get_settings(), "webhook_status")
    assert status.startswith("failed:") and "xoxbFake" not in status


def test_post_webhook_never_names_the_url_even_when_it_is_malformed():
    secret = "https://hooks.example.org/services/T0/B0/xoxbFakeSecret?token=xoxbFakeQuery"
    for url in (secret.replace("https", "ftp"), secret.replace("/services", " /services")):
        status = alerts.post_webhook(url, {"text": "x"}, timeout=0.5)
        assert status.startswith("failed:") and "xoxbFake" not in status, status
    assert "xoxbFake" not in alerts.redact(f"error at {secret}!", secret)


def hold_lease(data_dir: Path) -> subprocess.Popen:
    """Another process that holds the warehouse lease until its standard input closes."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from orchestration.lease import warehouse_lease\n"
        "with warehouse_lease(Path(sys.argv[1]), wait_seconds=0, run_id='other-run'):\n"
        "    print('held', flush=True)\n"
        "    sys.stdin.read()\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(data_dir)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "held"
    return process


def test_the_outbox_waits_while_another_process_writes_the_warehouse(configured, webhook):
    other = hold_lease(configured.data_dir)
    try:
        started = time.monotonic()
        assert alerts.raise_alert(an_alert(), configured) is True
        assert alerts.flush_outbox(configured, wait_seconds=0) == 0
        assert time.monotonic() - started < 5
        assert len(webhook.requests) == 1
        assert len(alerts.pending_alerts(configured.data_dir)) == 1
        assert not configured.warehouse_path.exists()
    finally:
        other.stdin.close()
        other.wait(timeout=30)

    assert alerts.flush_outbox(configured, wait_seconds=0) == 1
    assert alerts.pending_alerts(configured.data_dir) == []
    assert [r[-1] for r in alert_rows(configured)] == ["delivered (HTTP 200)"]


def test_the_governance_asset_records_the_outbox_in_its_run(configured, webhook):
    other = hold_lease(configured.data_dir)
    try:
        alerts.raise_alert(an_alert(), configured)
        late = alerts.late_delivery_alert("raw/x", "run-1", SLA)
        alerts.raise_alert(late, configured)
    finally:
        other.stdin.close()
        other.wait(timeout=30)

    result = dg.materialize(
        [alerts_asset],
        resources={"warehouse": DuckDBResource(database=str(configured.warehouse_path))},
    )

    (materialization,) = result.asset_materializations_for_node(alerts_asset.op.name)
    metadata = {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
    assert metadata["recorded_this_run"] == 2 and metadata["dagster/row_count"] == 2
    assert metadata["open_alerts"] == 2 and metadata["open_errors"] == 1
    assert metadata["waiting_in_outbox"] == 0
    assert "raw/x" in metadata["open_alerts_table"]
    schema = alerts_asset.specs_by_key[ALERTS_KEY].metadata["dagster/column_schema"]
    assert [c.name for c in schema.columns] == [
        "alert_id",
        "raised_at",
        "kind",
        "severity",
        "subject",
        "run_id",
        "message",
        "webhook_status",
        "recorded_at",
    ]
    assert all(c.description for c in schema.columns)


# The sensors, on runs that really failed.


@dg.op
def load_deliveries():
    raise RuntimeError("the extract has no header row\nTraceback detail nobody needs")


@dg.op
def write_extract():
    raise OSError(28, "No space left on device")


@dg.job(name="nightly")
def nightly():
    load_deliveries()
    write_extract()


@dg.job(name="elsewhere")
def elsewhere():
    load_deliveries()


def raw_asset(name: str, blocking: bool) -> dg.AssetsDefinition:
    key = dg.AssetKey(["raw", name])

    @dg.asset(
        key=key,
        check_specs=[
            dg.AssetCheckSpec("delivered_within_sla", asset=key),
            dg.AssetCheckSpec("nino_valid", asset=key, blocking=blocking),
        ],
    )
    def _raw():
        return dg.MaterializeResult(
            check_results=[
                dg.AssetCheckResult(
                    check_name="delivered_within_sla",
                    passed=False,
                    severity=dg.AssetCheckSeverity.WARN,
                    description=SLA,
                    metadata={"observed_value": "latest delivery 12.0 days old (allowed 8)"},
                ),
                dg.AssetCheckResult(
                    check_name="nino_valid",
                    passed=False,
                    severity=dg.AssetCheckSeverity.ERROR,
                    description="Every NINO is valid (2 of 100 are not).",
                ),
            ]
        )

    return _raw


SENSORS = (alert_on_run_failure, alert_on_failed_checks)
BLOCKED = raw_asset("dwp__benefits", blocking=True)
WARNED = raw_asset("hmrc__paye", blocking=False)
DEFINITIONS = dg.Definitions(
    assets=[BLOCKED, WARNED],
    jobs=[
        nightly,
        dg.define_asset_job("blocked", selection=[BLOCKED.key]),
        dg.define_asset_job("warned", selection=[WARNED.key]),
    ],
    sensors=list(SENSORS),
)


class Daemon:
    """Evaluates the sensors as the daemon does: from their cursors, in a code location."""

    def __init__(self, instance: dg.DagsterInstance) -> None:
        self.instance = instance
        self.repository = DEFINITIONS.get_repository_def()
        self.cursors: dict[str, str | None] = {s.name: None for s in SENSORS}
        self.tick()  # the first tick only sets the cursors

    def tick(self) -> None:
        for sensor in SENSORS:
            context = dg.SensorEvaluationContext(
                instance_ref=None,
                cursor=self.cursors[sensor.name],
                repository_name=self.repository.name,
                repository_def=self.repository,
                instance=self.instance,
                # The daemon evaluates sensors in their code location; only a sensor that
                # watches every location is handed runs executed in process (the CLI's).
                code_location_origin=RegisteredCodeLocationOrigin("commonground"),
            )
            sensor.evaluate_tick(context)
            self.cursors[sensor.name] = context.cursor

    def run(self, job_name: str) -> str:
        job = DEFINITIONS.resolve_job_def(job_name)
        return job.execute_in_process(instance=self.instance, raise_on_error=False).run_id


def test_a_failed_run_alerts_once_with_its_failed_steps_and_root_errors(configured, webhook):
    with dg.instance_for_test() as instance:
        daemon = Daemon(instance)
        run_id = daemon.run("nightly")
        elsewhere.execute_in_process(instance=instance, raise_on_error=False)
        daemon.tick()
        daemon.tick()

    ((kind, severity, subject, run, message, status),) = alert_rows(configured)
    assert (kind, severity, subject, run) == ("run_failure", "ERROR", "nightly", run_id)
    assert "load_deliveries, write_extract" in message
    assert "load_deliveries: RuntimeError: the extract has no header row" in message
    assert "Traceback detail" not in message
    assert "write_extract: The disk is full" in message  # an operational fault, explained
    assert status == "delivered (HTTP 200)"
    (payload,) = webhook.payloads()
    assert "Run failed: nightly" in payload["text"]


def test_failed_checks_alert_after_failed_and_successful_runs(configured, webhook):
    with dg.instance_for_test() as instance:
        daemon = Daemon(instance)
        blocked = daemon.run("blocked")
        warned = daemon.run("warned")
        daemon.tick()
        again = daemon.run("warned")
        daemon.tick()

    rows = alert_rows(configured, "kind, severity, subject, run_id, message")
    assert sorted(r[:4] for r in rows) == sorted(
        [
            ("run_failure", "ERROR", "blocked", blocked),
            ("blocking_check_failed", "ERROR", "raw/dwp__benefits :: nino_valid", blocked),
            ("late_delivery", "WARN", "raw/dwp__benefits", blocked),
            ("blocking_check_failed", "ERROR", "raw/hmrc__paye :: nino_valid", warned),
            ("late_delivery", "WARN", "raw/hmrc__paye", warned),
            ("blocking_check_failed", "ERROR", "raw/hmrc__paye :: nino_valid", again),
        ]
    )
    messages = {(r[0], r[2], r[3]): r[4] for r in rows}
    assert messages["blocking_check_failed", "raw/hmrc__paye :: nino_valid", warned] == (
        "Every NINO is valid (2 of 100 are not)."
    )
    assert "nino_valid" in messages["run_failure", "blocked", blocked]
    late = messages["late_delivery", "raw/hmrc__paye", warned]
    assert SLA in late and "latest delivery 12.0 days old (allowed 8)" in late
    texts = [p["text"] for p in webhook.payloads()]
    assert len(texts) == 6
    assert sum("Late delivery" in t for t in texts) == 2
