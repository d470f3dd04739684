"""Schedules for production runs."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.pipeline.jobs import everything_job

daily_schedule = dg.ScheduleDefinition(
    name="commonground_daily",
    job=everything_job,
    cron_schedule="0 6 * * *",
    execution_timezone="Europe/London",
    description="Every day at 06:00 UK time: ingest the night's deliveries and rebuild.",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
