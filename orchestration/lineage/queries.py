"""Column lineage of one SQL query, with sqlglot: for each output column, the columns of the
relations it is made from and how (copied, derived, aggregated or masked).

The query is qualified once against a schema of the relations it reads (``select *``
expanded, every column given its table), then :func:`sqlglot.lineage.lineage` follows each
output column through CTEs, subqueries and set operations down to the tables. Each hop is
classified from the expression that consumes the column: only casts and renames between
them is ``direct``; an aggregate around it, ``aggregated``; a pseudonym or hash function
around it, ``masked``; anything else, ``derived``. Along a path the strongest kind wins
(``masked`` over ``aggregated`` over ``derived`` over ``direct``): a NINO cleaned, then
pseudonymised, is masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.lineage import Node, lineage
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope
from sqlglot.schema import MappingSchema, Schema

DIRECT = "direct"
DERIVED = "derived"
AGGREGATED = "aggregated"
MASKED = "masked"

KINDS = (DIRECT, DERIVED, AGGREGATED, MASKED)
"""The kinds of a lineage hop, weakest first: along a path the strongest wins."""

MASKING_FUNCTIONS = frozenset(
    {
        # The pseudonymise macro's function (orchestration.privacy.pseudonyms.PSEUDONYM_FUNCTION).
        "commonground_pseudonym",
        "hmac_sha256",
        "hash",
        "md5",
        "md5_number",
        "sha1",
        "sha256",
        "sha512",
    }
)
"""Functions whose result is a pseudonym or hash of their input (lower case)."""

_HASHES = (
    exp.MD5,
    exp.MD5Digest,
    exp.MD5NumberLower64,
    exp.MD5NumberUpper64,
    exp.SHA,
    exp.SHA1Digest,
    exp.SHA2,
    exp.SHA2Digest,
)
_TRANSPARENT = (exp.Alias, exp.Cast, exp.TryCast, exp.Paren, exp.Column)
_SET_OPERATIONS = {"UNION", "INTERSECT", "EXCEPT"}

Relation = tuple[str, str, str]
"""A table as ``(catalog, schema, table)``, lower case; empty parts when the SQL omits them."""


@dataclass(frozen=True)
class ColumnInput:
    """One thing an output column is made from.

    Attributes:
        relation: The table read.
        column: Its column, or None when the output counts the relation's rows (``count(*)``).
        kind: ``direct``, ``derived``, ``aggregated`` or ``masked``.
    """

    relation: Relation
    column: str | None
    kind: str


@dataclass
class QueryLineage:
    """The lineage of one query's output columns.

    Attributes:
        columns: Each output column, in order, with what it is made from; an empty list for
            a constant (a literal, ``null``, ``current_date``).
        unresolved: Output columns with an input sqlglot could not place (a column of an
            unknown table, a ``*`` over a relation missing from the schema).
    """

    columns: dict[str, list[ColumnInput]] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)


def stronger(a: str, b: str) -> str:
    """The stronger of two kinds (``masked`` > ``aggregated`` > ``derived`` > ``direct``)."""
    return a if KINDS.index(a) >= KINDS.index(b) else b


def relation_of(table: exp.Table) -> Relation:
    """``(catalog, schema, table)`` of a sqlglot table, lower case."""
    return (table.catalog.lower(), table.db.lower(), table.name.lower())


def parse_relation(name: str, dialect: str = "duckdb") -> Relation:
    """``(catalog, schema, table)`` of a relation name such as ``"warehouse"."raw"."x"``."""
    return relation_of(exp.to_table(name, dialect=dialect))


def mapping_schema(
    tables: Mapping[Relation, Mapping[str, str | None]], dialect: str = "duckdb"
) -> MappingSchema:
    """A sqlglot schema of ``{relation: {column: type or None}}``."""
    schema = MappingSchema(dialect=dialect)
    for relation, columns in tables.items():
        add_table(schema, relation, columns, dialect)
    return schema


def add_table(
    schema: MappingSchema,
    relation: Relation,
    columns: Mapping[str, str | None],
    dialect: str = "duckdb",
) -> None:
    """Adds (or replaces) one relation's columns in ``schema``; a missing type is unknown."""
    if not columns:
        return
    table = exp.table_(relation[2], db=relation[1] or None, catalog=relation[0] or None)
    schema.add_table(
        table, {c: (t or "unknown") for c, t in columns.items()}, dialect=dialect, normalize=True
    )


def _masks(node: exp.Expr) -> bool:
    if isinstance(node, _HASHES):
        return True
    return isinstance(node, exp.Func) and (
        (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
        in MASKING_FUNCTIONS
    )


def _path_kind(column: exp.Column, root: exp.Expr) -> str:
    """How ``root`` (a projection) uses ``column``: from the expressions between them."""
    kind = DIRECT
    current = column.parent
    while current is not None:
        if _masks(current):
            return MASKED
        if isinstance(current, exp.AggFunc):
            kind = AGGREGATED
        elif not isinstance(current, _TRANSPARENT):
            kind = stronger(kind, DERIVED)
        if current is root:
            break
        current = current.parent
    return kind


def _expression_kind(root: exp.Expr) -> str:
    """How a projection uses whatever it reads, judged on the whole expression."""
    if any(_masks(n) for n in root.walk()):
        return MASKED
    if root.find(exp.AggFunc):
        return AGGREGATED
    inner = root.this if isinstance(root, exp.Alias) else root
    return DIRECT if isinstance(inner, _TRANSPARENT) else DERIVED


def _is_set_operation(node: Node) -> bool:
    return isinstance(node.source, exp.SetOperation) and node.name in _SET_OPERATIONS


def _column_of(child: Node) -> tuple[str, str]:
    """``(table alias, column)`` a lineage node stands for in its parent's projection; no
    alias for a set operation's branch (named by its position)."""
    if _is_set_operation(child) or child.name.isdigit():
        return "", child.expression.alias_or_name
    try:
        parsed = exp.to_column(child.name)
    except (TypeError, sqlglot.errors.ParseError):
        return "", child.name.rsplit(".", 1)[-1]
    return parsed.table, parsed.name


def _hop_kind(node: Node, child: Node) -> str:
    """How ``node``'s projection uses what ``child`` stands for."""
    if _is_set_operation(node) or child.name == "*":
        return DIRECT  # a set operation or a star hands each column on as it is
    table, name = _column_of(child)
    uses = [
        c
        for c in node.expression.find_all(exp.Column)
        if c.name == name and (not table or c.table == table)
    ]
    if not uses:
        return _expression_kind(node.expression)
    kinds = [_path_kind(c, node.expression) for c in uses]
    return max(kinds, key=KINDS.index)


def _scope_relations(scope: Scope) -> set[Relation]:
    """Every table a scope reads, through its CTEs and subqueries."""
    found: set[Relation] = set()
    for source in scope.sources.values():
        if isinstance(source, Scope):
            found |= _scope_relations(source)
        elif isinstance(source, exp.Table):
            found.add(relation_of(source))
    return found


def _counts_rows(projection: exp.Expr) -> bool:
    return any(isinstance(c.this, exp.Star) for c in projection.find_all(exp.Count))


class _Walker:
    """Collects the inputs of one output column from its lineage graph."""

    def __init__(self, scopes: dict[int, Scope]):
        self.scopes = scopes
        self.inputs: set[ColumnInput] = set()
        self.unresolved = False

    def walk(self, node: Node, kind: str, seen: frozenset[int] = frozenset()) -> None:
        if id(node) in seen:
            return
        seen = seen | {id(node)}
        if not _is_set_operation(node) and _counts_rows(node.expression):
            scope = self.scopes.get(id(node.source))
            for relation in _scope_relations(scope) if scope else ():
                self.inputs.add(ColumnInput(relation, None, stronger(kind, AGGREGATED)))
        for child in node.downstream:
            hop = stronger(kind, _hop_kind(node, child))
            if isinstance(child.expression, exp.Table):
                # A star left unexpanded reads a table the schema does not know.
                column = None if child.name == "*" else _column_of(child)[1]
                self.unresolved = self.unresolved or column is None
                self.inputs.add(ColumnInput(relation_of(child.expression), column, hop))
            elif isinstance(child.expression, exp.Placeholder) or child.name == "*":
                self.unresolved = True
            else:
                self.walk(child, hop, seen)


def query_lineage(
    sql: str | exp.Expr, schema: Schema | Mapping, dialect: str = "duckdb"
) -> QueryLineage:
    """The lineage of every output column of one query.

    Args:
        sql: A SELECT (with any CTEs, joins, subqueries and set operations).
        schema: The columns of the relations it reads: a sqlglot schema (see
            :func:`mapping_schema`) or a nested mapping ``{catalog: {schema: {table:
            {column: type}}}}``. A relation missing from it still resolves columns named in
            the SQL, but not ``*``.
        dialect: The SQL dialect.

    Returns:
        Each output column with its inputs (none for a constant), and the output columns
        with an input that could not be placed.

    Raises:
        sqlglot.errors.SqlglotError: The SQL is not a query sqlglot can read.
    """
    parsed = sqlglot.parse_one(sql, read=dialect) if isinstance(sql, str) else sql.copy()
    if not isinstance(schema, Schema):
        schema = MappingSchema(schema, dialect=dialect)
    qualified = qualify(
        parsed, schema=schema, dialect=dialect, validate_qualify_columns=False, identify=False
    )
    root = build_scope(qualified)
    if root is None:
        raise sqlglot.errors.SqlglotError("column lineage needs a SELECT")
    scopes = {id(s.expression): s for s in root.traverse()}
    nodes = lineage(
        None, qualified, schema, dialect=dialect, scope=root, trim_selects=False, copy=False
    )
    result = QueryLineage()
    for name, node in nodes.items():
        walker = _Walker(scopes)
        walker.walk(node, DIRECT)
        strongest: dict[tuple[Relation, str | None], str] = {}
        for found in walker.inputs:
            key = (found.relation, found.column)
            strongest[key] = stronger(strongest.get(key, DIRECT), found.kind)
        result.columns[name] = [
            ColumnInput(r, c, k)
            for (r, c), k in sorted(strongest.items(), key=lambda i: (i[0][0], i[0][1] or ""))
        ]
        if walker.unresolved:
            result.unresolved.append(name)
    return result
