"""Resources shared by every asset: the DuckDB warehouse, the dbt CLI and Great Expectations.

Each of them holds the warehouse writer lease (:mod:`orchestration.lease`) while a run uses
it: the in-process executor sets resources up once per run, so a run takes the lease before
its first step and gives it back after its last. A second run that writes the warehouse
(from the UI, a schedule, a sensor or ``commonground run``) waits for it instead of failing
on DuckDB's file lock.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource

from orchestration.faults import chain_of, is_transient
from orchestration.lease import warehouse_lease
from orchestration.project import dbt_executable, dbt_project
from orchestration.quality import GreatExpectationsResource
from orchestration.settings import get_settings

WAREHOUSE_POOL = "warehouse"
"""The concurrency pool of every step that reads or writes the warehouse. The instance
(``deploy/dagster.yaml``) limits it to one run at a time (pool granularity ``run``)."""

WAREHOUSE_WRITE_TAGS = {"commonground/warehouse": "write"}
"""Run tags of every job that writes the warehouse; the run queue admits one such run at a
time (``tag_concurrency_limits`` in ``deploy/dagster.yaml``)."""

TRANSIENT_RETRIES = 3
"""How many times a step is retried after a transient fault (lock held, I/O error)."""

TRANSIENT_FIRST_WAIT_SECONDS = 10.0
"""The wait before the first retry; it doubles before each further one."""

_leases: dict[int, ExitStack] = {}


def retry_transient(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Retries a step that failed for a transient reason, and only then.

    A warehouse locked by another process or an I/O error asks Dagster to retry the step
    (:class:`dagster.RetryRequested`, up to :data:`TRANSIENT_RETRIES` times, the wait
    doubling from :data:`TRANSIENT_FIRST_WAIT_SECONDS`). Anything else (bad data, a failed
    blocking check, a bug, a full disk) fails the step at once, as before.
    """

    def retry_or_raise(exc: Exception) -> None:
        if isinstance(exc, dg.RetryRequested) or not is_transient(chain_of(exc)):
            return
        wait = TRANSIENT_FIRST_WAIT_SECONDS * 2 ** dg.OpExecutionContext.get().retry_number
        raise dg.RetryRequested(max_retries=TRANSIENT_RETRIES, seconds_to_wait=wait) from exc

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except Exception as exc:
                retry_or_raise(exc)
                raise

        wrapped = generator
    else:

        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                retry_or_raise(exc)
                raise

    # Dagster reads the parameters' types (context, resources) from the signature; resolve
    # them where ``fn`` was written, in case that module postpones annotations.
    wrapped.__signature__ = inspect.signature(fn, eval_str=True)
    return wrapped


class HoldsWarehouseLease:
    """Mixin for a resource that writes the warehouse: holds the lease while a run uses it."""

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        settings = get_settings()
        run_id = context.run_id or ""
        stack = ExitStack()

        def waiting(holder) -> None:
            if context.log is not None:
                who = holder.describe() if holder else "another process"
                context.log.info(f"waiting for the warehouse: it is being written by {who}")

        stack.enter_context(
            warehouse_lease(
                settings.data_dir,
                wait_seconds=settings.writer_wait_seconds,
                run_id=run_id,
                purpose="Dagster run",
                on_wait=waiting,
            )
        )
        _leases[id(self)] = stack
        super().setup_for_execution(context)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        try:
            super().teardown_after_execution(context)
        finally:
            stack = _leases.pop(id(self), None)
            if stack is not None:
                stack.close()


class WarehouseResource(HoldsWarehouseLease, DuckDBResource):
    """The DuckDB warehouse, written by one run at a time.

    Connections open once, without ``DuckDBResource``'s ten retries of every I/O error
    (minutes, spent on a damaged file as much as on a lock): Common Ground's own runs never
    meet a lock (they hold the lease), a lock held by something else fails the step and
    :func:`retry_transient` retries it, and anything else fails at once.
    """

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        config = {"custom_user_agent": "dagster", **self.connection_config}
        con = duckdb.connect(database=self.database, read_only=False, config=config)
        try:
            yield con
        finally:
            con.close()


class WarehouseDbtResource(HoldsWarehouseLease, DbtCliResource):
    """The dbt CLI building models in the warehouse, one run at a time."""


class WarehouseGreatExpectationsResource(HoldsWarehouseLease, GreatExpectationsResource):
    """Great Expectations validating the warehouse, one run at a time."""


@dg.definitions
def defs() -> dg.Definitions:
    """The warehouse and dbt resources, and the in-process executor.

    DuckDB allows one writer process per database file, so runs execute their steps in one
    process, one after another.
    """
    settings = get_settings()
    return dg.Definitions(
        resources={
            "warehouse": WarehouseResource(
                database=str(settings.warehouse_path),
                connection_config={
                    "memory_limit": settings.duckdb_memory_limit,
                    "preserve_insertion_order": False,
                },
            ),
            "dbt": WarehouseDbtResource(project_dir=dbt_project(), dbt_executable=dbt_executable()),
            "great_expectations": WarehouseGreatExpectationsResource(
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
