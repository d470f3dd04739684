"""Alert sensors: a failed run, a failed blocking check and a late delivery reach people.

- ``alert_on_run_failure``: one ``run_failure`` ERROR alert per failed run, naming the failed
  steps and each one's root error (an operational fault explained in one line), plus the
  alerts of the run's failed checks;
- ``alert_on_failed_checks``: after a successful run, the alerts of its failed checks.

A run's failed checks are read from its ``ASSET_CHECK_EVALUATION`` events
(:func:`failed_checks`): a failed ERROR check is a ``blocking_check_failed`` ERROR alert, a
failed ``delivered_within_sla`` check, or a failed Dagster freshness check on a raw asset
(evaluated between runs from the contract's SLA), a ``late_delivery`` WARN alert (one a day
per dataset). Alerts go to the webhook and ``governance.alerts`` (:mod:`orchestration.alerts`).

The sensors watch every run of the instance whose job belongs to this code location. They
set ``monitor_all_code_locations``: without it Dagster only hands a run-status sensor the
runs launched from its code location, and a run of ``commonground run`` (the CLI executes
the job in process, in the same instance) has no such origin, so its failures would go
unheard. :func:`belongs_here` narrows them back to this location's jobs.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from orchestration.alerts import (
    Alert,
    blocking_check_alert,
    flush_outbox,
    late_delivery_alert,
    raise_alerts,
    run_failure_alert,
    run_failure_message,
)
from orchestration.defs.ingest.assets import FRESHNESS_CHECK_NAME
from orchestration.quality import CHECK_NAME
from orchestration.settings import get_settings

RUN_FAILURE_SENSOR = "alert_on_run_failure"
CHECKS_SENSOR = "alert_on_failed_checks"

SENSOR_WEBHOOK_TIMEOUT_SECONDS = 5.0
"""How long a sensor waits for the webhook per alert (a sensor tick must stay short)."""


@dataclass(frozen=True)
class FailedCheck:
    """An asset check that failed in a run.

    Attributes:
        asset: The checked asset's key (``raw/dwp__benefits``).
        check_name: The check's name.
        severity: ``ERROR`` (blocking) or ``WARN``.
        description: The check result's description (what it expects).
        observed: The observed value the check recorded, if any.
    """

    asset: str
    check_name: str
    severity: str
    description: str
    observed: str = ""


def failed_checks(instance: dg.DagsterInstance, run_id: str) -> list[FailedCheck]:
    """Every check that failed in run ``run_id``, from its check evaluation events."""
    found = []
    records = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    for record in records:
        event = record.dagster_event
        evaluation = event.event_specific_data if event is not None else None
        if evaluation is None or evaluation.passed:
            continue
        observed = evaluation.metadata.get("observed_value")
        found.append(
            FailedCheck(
                asset=evaluation.asset_key.to_user_string(),
                check_name=evaluation.check_name,
                severity="ERROR" if evaluation.severity == dg.AssetCheckSeverity.ERROR else "WARN",
                description=evaluation.description or "",
                observed="" if observed is None else str(getattr(observed, "value", observed)),
            )
        )
    return found


def check_alerts(instance: dg.DagsterInstance, run_id: str) -> list[Alert]:
    """The alerts of a run's failed checks: late deliveries and failed blocking checks."""
    alerts = []
    for check in failed_checks(instance, run_id):
        if check.check_name in (CHECK_NAME, FRESHNESS_CHECK_NAME):
            alerts.append(
                late_delivery_alert(check.asset, run_id, check.description, check.observed)
            )
        elif check.severity == "ERROR":
            alerts.append(
                blocking_check_alert(check.asset, check.check_name, run_id, check.description)
            )
    return alerts


def error_chain(error) -> list[tuple[str, str]]:
    """``(class name, message)`` of a recorded error and of every error behind it."""
    chain, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        chain.append((error.cls_name or "", error.message or ""))
        error = error.cause or error.context
    return chain


def belongs_here(context: dg.RunStatusSensorContext) -> bool:
    """Whether the run's job is one of this code location's (always, outside a location)."""
    repository = context.repository_def
    return repository is None or repository.has_job(context.dagster_run.job_name)


def _raise(context: dg.RunStatusSensorContext, alerts: list[Alert]) -> None:
    """Raises the alerts (or records leftovers); logs, never raises: a sensor must not crash."""
    run_id = context.dagster_run.run_id
    try:
        settings = get_settings()
        raised = raise_alerts(alerts, settings, SENSOR_WEBHOOK_TIMEOUT_SECONDS) if alerts else []
        if not alerts:
            flush_outbox(settings, wait_seconds=0)
        for alert, new in zip(alerts, raised, strict=True):
            if new:
                context.log.info(f"{alert.severity} {alert.kind} alert: {alert.subject}")
    except Exception as exc:  # the tick must go on; the log says why
        context.log.error(
            f"alerts of run {run_id} could not be raised: {type(exc).__name__}: {exc}"
        )


@dg.run_failure_sensor(
    name=RUN_FAILURE_SENSOR,
    monitor_all_code_locations=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Raises a run_failure alert (ERROR) for every failed run of this code location, with "
        "its failed steps and their root errors, and an alert for each blocking check that "
        "failed and each late delivery; to the alert webhook and governance.alerts."
    ),
)
def alert_on_run_failure(context: dg.RunFailureSensorContext) -> None:
    """Alerts on a failed run and on its failed checks."""
    if not belongs_here(context):
        return
    run = context.dagster_run
    step_errors = {}
    for event in context.get_step_failure_events():
        error = getattr(event.event_specific_data, "error", None)
        step_errors[event.step_key or "?"] = error_chain(error)
    run_error = getattr(context.failure_event.event_specific_data, "error", None)
    message = run_failure_message(run.job_name, step_errors, error_chain(run_error))
    alerts = [run_failure_alert(run.job_name, run.run_id, message)]
    _raise(context, alerts + check_alerts(context.instance, run.run_id))


@dg.run_status_sensor(
    name=CHECKS_SENSOR,
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitor_all_code_locations=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "After every successful run of this code location, raises an alert for each blocking "
        "(ERROR) check that failed and each late delivery (a failed delivered_within_sla "
        "check), and records alerts left in the outbox in governance.alerts."
    ),
)
def alert_on_failed_checks(context: dg.RunStatusSensorContext) -> None:
    """Alerts on the failed checks of a successful run."""
    if not belongs_here(context):
        return
    _raise(context, check_alerts(context.instance, context.dagster_run.run_id))


@dg.definitions
def defs() -> dg.Definitions:
    """The alert sensors."""
    return dg.Definitions(sensors=[alert_on_run_failure, alert_on_failed_checks])
