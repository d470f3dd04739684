"""OpenLineage sensors: every finished run tells the lineage catalogue what it built.

- ``openlineage_on_run_success`` and ``openlineage_on_run_failure`` emit, for each successful
  or failed run of this code location, the OpenLineage events of every asset it set out to
  materialize (:func:`orchestration.openlineage.emit_run`): to
  ``<data dir>/openlineage/<run id>.jsonl`` and to ``COMMONGROUND_OPENLINEAGE_URL`` when set.

Like the alert sensors they set ``monitor_all_code_locations`` so that runs of
``commonground run`` (executed in process, with no code-location origin) are seen too, and
narrow them back to this location's jobs (:func:`belongs_here`). ``commonground run`` also
emits its runs itself (an ephemeral instance has no daemon); a run is emitted once whoever
comes first. Emission never fails a tick: a problem is one line in the sensor's log.
"""

from __future__ import annotations

import dagster as dg

from orchestration.defs.pipeline.alerts import belongs_here
from orchestration.openlineage import emit_run
from orchestration.settings import get_settings

SUCCESS_SENSOR = "openlineage_on_run_success"
FAILURE_SENSOR = "openlineage_on_run_failure"

SENSOR_TIMEOUT_SECONDS = 5.0
"""How long a sensor waits for the OpenLineage receiver per event (a tick must stay short)."""


def _emit(context: dg.RunStatusSensorContext) -> None:
    """Emits the run's events; logs, never raises: a sensor must not crash."""
    if not belongs_here(context):
        return
    run_id = context.dagster_run.run_id
    try:
        repository = context.repository_def
        assets = repository.asset_graph if repository is not None else {}
        emission = emit_run(
            context.instance, run_id, assets, get_settings(), SENSOR_TIMEOUT_SECONDS
        )
    except Exception as exc:  # the tick must go on; the log says why
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        context.log.error(f"OpenLineage events of run {run_id} were not emitted: {reason}")
        return
    if emission.error:
        context.log.error(f"OpenLineage events of run {run_id}: {emission.error}")
    elif not emission.already_emitted:
        context.log.info(
            f"OpenLineage: {emission.events} event(s) of run {run_id}; receiver {emission.http}"
        )


@dg.run_status_sensor(
    name=SUCCESS_SENSOR,
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitor_all_code_locations=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "After every successful run of this code location, emits the OpenLineage events "
        "(START, COMPLETE) of each asset it materialized, with schema, column lineage and "
        "check results, to data/openlineage and the OpenLineage receiver if one is set."
    ),
)
def openlineage_on_run_success(context: dg.RunStatusSensorContext) -> None:
    """Emits the OpenLineage events of a successful run."""
    _emit(context)


@dg.run_failure_sensor(
    name=FAILURE_SENSOR,
    monitor_all_code_locations=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "After every failed run of this code location, emits the OpenLineage events (START, "
        "COMPLETE or FAIL with the error) of each asset it set out to materialize, to "
        "data/openlineage and the OpenLineage receiver if one is set."
    ),
)
def openlineage_on_run_failure(context: dg.RunFailureSensorContext) -> None:
    """Emits the OpenLineage events of a failed run."""
    _emit(context)


@dg.definitions
def defs() -> dg.Definitions:
    """The OpenLineage sensors."""
    return dg.Definitions(sensors=[openlineage_on_run_success, openlineage_on_run_failure])
