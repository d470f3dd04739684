"""Schedules for production runs."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.pipeline.jobs import everything_job
from orchestration.settings import get_settings

DAILY_SCHEDULE = "commonground_daily"


@dg.definitions
def defs() -> dg.Definitions:
    """The daily run (``COMMONGROUND_SCHEDULE_CRON``, default 06:00 UK time)."""
    cron = get_settings().schedule_cron
    daily = dg.ScheduleDefinition(
        name=DAILY_SCHEDULE,
        job=everything_job,
        cron_schedule=cron,
        execution_timezone="Europe/London",
        description=f"On {cron!r} (UK time): ingest the deliveries that arrived and rebuild.",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    return dg.Definitions(schedules=[daily])
