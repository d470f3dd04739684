"""Quality checks: GX suites as Dagster asset checks."""
