"""Resources shared by every asset: the DuckDB warehouse, the dbt CLI and Great Expectations."""

import dagster as dg
from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource

from orchestration.project import dbt_executable, dbt_project
from orchestration.quality import GreatExpectationsResource
from orchestration.settings import get_settings


@dg.definitions
def defs() -> dg.Definitions:
    """The warehouse and dbt resources, and the in-process executor.

    DuckDB allows one writer process per database file, so runs execute their steps in one
    process, one after another.
    """
    settings = get_settings()
    return dg.Definitions(
        resources={
            "warehouse": DuckDBResource(
                database=str(settings.warehouse_path),
                connection_config={
                    "memory_limit": settings.duckdb_memory_limit,
                    "preserve_insertion_order": False,
                },
            ),
            "dbt": DbtCliResource(project_dir=dbt_project(), dbt_executable=dbt_executable()),
            "great_expectations": GreatExpectationsResource(
                database=str(settings.warehouse_path),
                connection_config={
                    "memory_limit": settings.duckdb_memory_limit,
                    "preserve_insertion_order": "false",
                },
                docs_dir=str(settings.docs_dir / "quality"),
                store_dir=str(settings.data_dir / "quality_store"),
            ),
        },
        executor=dg.in_process_executor,
    )
