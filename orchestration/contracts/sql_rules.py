"""The sandbox a contract's ``sql`` quality rule must fit: one ``SELECT`` over its own table.

A contract is written by a department, not by the platform team, and its ``sql`` rules run
in the warehouse. A rule is parsed with sqlglot (DuckDB dialect) and accepted only when it is
a single ``SELECT`` (subqueries and CTEs allowed) whose every table is the contract's table,
written ``${table}``, or one of the query's own CTEs: no other schema, database or table, no
table function (``read_csv``, ``glob``, ``query_table``, ``unnest`` ...), no function that
reads files, settings or the environment (``read_text``, ``getenv``, ``current_setting``
...), no ``ATTACH``, ``COPY``, ``PRAGMA``, ``SET``, ``INSTALL``/``LOAD``, DDL or DML, and no
second statement. The connections that run rules also disable DuckDB's external access
(:mod:`orchestration.quality.gx_bridge`), in case a rule slips past this parser.
"""

from __future__ import annotations

from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

from orchestration.contracts.errors import IDENTIFIER, ContractError

TABLE_PLACEHOLDER = "${table}"
# The name a rule's table has when it runs: the validated batch, as a CTE.
RULE_TABLE = "batch_rows"

# Functions a rule may never call, besides every ``read_*`` and every table function.
DENIED_FUNCTIONS = frozenset(
    {
        "current_setting",
        "getenv",
        "getvariable",
        "glob",
        "query",
        "query_table",
        "sniff_csv",
        "parquet_scan",
        "parquet_metadata",
        "parquet_schema",
        "parquet_file_metadata",
        "parquet_kv_metadata",
        "iceberg_scan",
        "delta_scan",
        "sqlite_scan",
        "postgres_scan",
        "mysql_scan",
        "which_secret",
        "json_execute_serialized_sql",
        "load_extension",
    }
)
DENIED_PREFIXES = ("read_", "duckdb_", "pragma_", "scan_")
DENIED_SUFFIXES = ("_scan",)
# Statements named in the error when a rule is one of them.
STATEMENT_NAMES = {
    exp.Attach: "ATTACH",
    exp.Detach: "DETACH",
    exp.Copy: "COPY",
    exp.Pragma: "PRAGMA",
    exp.Set: "SET",
    exp.Install: "INSTALL",
    exp.Use: "USE",
    exp.Create: "CREATE (DDL)",
    exp.Drop: "DROP (DDL)",
    exp.Alter: "ALTER (DDL)",
    exp.Insert: "INSERT (DML)",
    exp.Update: "UPDATE (DML)",
    exp.Delete: "DELETE (DML)",
    exp.Merge: "MERGE (DML)",
    exp.Describe: "DESCRIBE",
    exp.Summarize: "SUMMARIZE",
    exp.Transaction: "a transaction statement",
}


class RuleSQLError(ValueError):
    """A ``sql`` rule leaves its sandbox; the message names the construct."""


def function_name(node: exp.Func) -> str:
    """The lower-case SQL name of a function call (``read_csv``, ``getenv`` ...)."""
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return node.sql_name().lower()


def _denied(name: str) -> bool:
    return (
        name in DENIED_FUNCTIONS
        or name.startswith(DENIED_PREFIXES)
        or name.endswith(DENIED_SUFFIXES)
    )


def _statement_name(node: exp.Expression) -> str:
    for kind, label in STATEMENT_NAMES.items():
        if isinstance(node, kind):
            return label
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    return type(node).__name__.upper()


def _parse(query: str) -> exp.Expression:
    try:
        tokens = sqlglot.Dialect.get_or_raise("duckdb").tokenize(query)
        if any(t.token_type == TokenType.SEMICOLON for t in tokens):
            raise RuleSQLError("';' (a rule is one statement; multiple statements are refused)")
        statements = [s for s in sqlglot.parse(query, read="duckdb") if s is not None]
    except SqlglotError as exc:
        raise RuleSQLError(f"not valid DuckDB SQL: {str(exc).splitlines()[0]}") from exc
    if len(statements) != 1:
        raise RuleSQLError(f"{len(statements)} statements (a rule is one SELECT)")
    statement = statements[0]
    if not isinstance(statement, exp.Select):
        raise RuleSQLError(f"{_statement_name(statement)} (a rule is one SELECT)")
    return statement


def _check_table(node: exp.Table, ctes: set[str]) -> None:
    if not isinstance(node.this, exp.Identifier):
        inner = node.this
        name = function_name(inner) if isinstance(inner, exp.Func) else inner.sql("duckdb")
        raise RuleSQLError(f"table function {name} (a rule reads only {TABLE_PLACEHOLDER})")
    if node.args.get("db") or node.args.get("catalog"):
        raise RuleSQLError(
            f"table {node.sql('duckdb')} in another schema or database "
            f"(a rule reads only {TABLE_PLACEHOLDER})"
        )
    if node.name != RULE_TABLE and node.name not in ctes:
        raise RuleSQLError(
            f"table {node.sql('duckdb')} (a rule reads only {TABLE_PLACEHOLDER} and its own CTEs)"
        )


def check_rule_sql(query: str) -> None:
    """Raises :class:`RuleSQLError` unless ``query`` is one SELECT over ``${table}``.

    Args:
        query: The rule's query as written in the contract, with ``${table}``.
    """
    sql = query.replace(TABLE_PLACEHOLDER, RULE_TABLE)
    statement = _parse(sql)
    if TABLE_PLACEHOLDER not in query:
        raise RuleSQLError(
            f"no {TABLE_PLACEHOLDER}: a sql rule is a query over {TABLE_PLACEHOLDER}"
        )
    ctes = set()
    for cte in statement.find_all(exp.CTE):
        if not IDENTIFIER.match(cte.alias_or_name):
            raise RuleSQLError(f"CTE name {cte.alias_or_name!r} is not a lower_snake_case name")
        ctes.add(cte.alias_or_name)
    for node in statement.walk():
        if isinstance(node, tuple(STATEMENT_NAMES) + (exp.Command,)):
            raise RuleSQLError(f"{_statement_name(node)} (a rule is one SELECT)")
        if isinstance(node, exp.Table):
            _check_table(node, ctes)
        elif isinstance(node, exp.Unnest | exp.Lateral) and isinstance(
            node.parent, exp.From | exp.Join
        ):
            raise RuleSQLError(f"table function {node.key} (a rule reads only {TABLE_PLACEHOLDER})")
        elif isinstance(node, exp.Func) and _denied(function_name(node)):
            raise RuleSQLError(
                f"function {function_name(node)} (reads files, settings or the environment)"
            )
        elif isinstance(node, exp.Placeholder | exp.Parameter):
            raise RuleSQLError(
                f"parameter {node.sql('duckdb')} (only {TABLE_PLACEHOLDER} is substituted)"
            )
    # The rule runs pasted as ``select (<rule>) as observed_value``: it must stay one
    # self-contained subquery there (a comment or stray parenthesis cannot break out).
    try:
        wrapped = sqlglot.parse_one(f"select ({sql}) as observed_value", read="duckdb")
    except SqlglotError as exc:
        raise RuleSQLError(
            "is not a self-contained query (a comment or parenthesis escapes it)"
        ) from exc
    projections = wrapped.expressions if isinstance(wrapped, exp.Select) else []
    if len(projections) != 1 or not isinstance(projections[0].unalias(), exp.Subquery):
        raise RuleSQLError("is not a self-contained query (a comment or parenthesis escapes it)")


def check_rule_query(path: Path, where: str, query: object) -> str:
    """Returns the rule's query; raises :class:`ContractError` naming the file, ``where`` and
    the construct when it leaves the sandbox (see :func:`check_rule_sql`)."""
    if not isinstance(query, str) or not query.strip():
        raise ContractError(path, where, f"a sql rule needs a query over {TABLE_PLACEHOLDER}")
    try:
        check_rule_sql(query)
    except RuleSQLError as exc:
        raise ContractError(path, where, f"sql rule refused: {exc}") from exc
    return query
