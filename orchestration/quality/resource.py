"""The Dagster resource that runs Great Expectations suites against the warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg


class GreatExpectationsResource(dg.ConfigurableResource):
    """Runs GX suites in the DuckDB warehouse and keeps results and Data Docs on disk.

    Suites carry contract-supplied SQL: the bridge runs them on connections with DuckDB's
    external access disabled and its configuration locked
    (:func:`~orchestration.quality.gx_bridge.sandbox_connection`).

    Attributes:
        database: The DuckDB warehouse file.
        connection_config: DuckDB settings, the same as the warehouse resource's (DuckDB
            refuses two configurations of one file in a process).
        docs_dir: Where the Data Docs site is rendered (``<data dir>/docs/quality``).
        store_dir: Where suites and validation results are kept for the site.
        history: Validation runs kept per suite; older ones are pruned so building stays fast.
    """

    database: str
    connection_config: dict[str, str] = {}
    docs_dir: str
    store_dir: str
    history: int = 10

    def _workspace(self):
        # deferred: Great Expectations takes seconds to import; only validating steps pay.
        from orchestration.quality.gx_bridge import GXWorkspace

        return GXWorkspace(
            docs_dir=Path(self.docs_dir), store_dir=Path(self.store_dir), history=self.history
        )

    def validate(self, dataset: str, relation_sql: str, suite: Any, run_id: str) -> list:
        """Runs ``suite`` against the rows of ``relation_sql``; one outcome per expectation."""
        # deferred: as above.
        from orchestration.quality.gx_bridge import validate

        return validate(
            database=self.database,
            connection_config=self.connection_config,
            dataset=dataset,
            relation_sql=relation_sql,
            suite=suite,
            run_name=run_id,
            workspace=self._workspace(),
        )

    def build_docs(self) -> Path:
        """Renders the Data Docs site from the kept results; returns its ``index.html``."""
        return self._workspace().build_docs()
