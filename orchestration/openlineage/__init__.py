"""OpenLineage run events for every asset a Dagster run materialized.

A finished Dagster run is read back from its event log (:func:`run_events`) and told as
OpenLineage ``RunEvent``\\ s, one OpenLineage job per asset (namespace ``commonground``, name
the asset key, ``conformed/persons``):

- ``START`` when the asset's step started;
- ``COMPLETE`` when the asset was materialized (at the step's success), ``FAIL`` when its step
  failed first (with an ``errorMessage`` facet: the root error in one line), and ``ABORT``
  when its step ended without materializing it or never ended (the run was stopped).

Each event's output is the asset's table (namespace ``duckdb://<warehouse path>``, name
``schema.table``) with a ``schema`` facet (``dagster/column_schema``) and a ``columnLineage``
facet (``dagster/column_lineage``) where the asset has them, and on the closing event a
``dataQualityAssertions`` facet with every check the run evaluated on it. The inputs are the
tables of its upstream assets. The OpenLineage run id is a UUID derived from the Dagster run
and the asset, so it is the same however often the run is told; a ``parent`` facet points to
the Dagster run (namespace ``commonground``, name the Dagster job).

:func:`emit_run` writes a run's events with the ``openlineage-python`` client, one JSON
object per line, to ``<data dir>/openlineage/<dagster run id>.jsonl`` (its ``FileTransport``)
and, when ``COMMONGROUND_OPENLINEAGE_URL`` is set, posts them to that receiver (its
``HttpTransport``, with ``COMMONGROUND_OPENLINEAGE_API_KEY`` as a bearer token). A run is
emitted once: a record under ``<data dir>/state/openlineage/`` says it was, so the sensors
and ``commonground run`` never tell the same run twice. Emission never raises: a receiver
that is down is one log line (never with the key), and the run goes on.
"""

from orchestration.openlineage.emit import (
    NOT_CONFIGURED,
    Emission,
    emit_run,
    events_dir,
    http_config,
    state_dir,
)
from orchestration.openlineage.events import (
    NAMESPACE,
    PRODUCER,
    AssetLineage,
    check_assertion,
    dataset_namespace,
    describe_assets,
    error_line,
    openlineage_run_id,
    run_events,
)

__all__ = [
    "NAMESPACE",
    "NOT_CONFIGURED",
    "PRODUCER",
    "AssetLineage",
    "Emission",
    "check_assertion",
    "dataset_namespace",
    "describe_assets",
    "emit_run",
    "error_line",
    "events_dir",
    "http_config",
    "openlineage_run_id",
    "run_events",
    "state_dir",
]
