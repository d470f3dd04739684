"""Row-level contract rules as SQL: which delivered values break their contract, and why.

Raw tables keep every value as delivered text, so a type rule asks whether the text parses
the way staging will parse it. The expressions below mirror the dbt macros that staging uses
(``parse_date``, ``parse_money``, ``parse_number``, ``parse_flag``): a value that would become
NULL in staging because it does not parse is quarantined at the door instead.

Rules, from the contract's schema (quality rules stay with Great Expectations):

- ``required``: a required column is empty;
- ``type``: a date, timestamp, number, integer or boolean that does not parse (dates by the
  column's ``logicalTypeOptions.format``: ``dd/mm/yyyy``, ``yyyy-mm-dd``, ``excel``, ``any``
  or a pattern such as ``yyyymmdd``, see :mod:`orchestration.contracts.dates`);
- ``max_length`` / ``min_length``: ``logicalTypeOptions.maxLength`` / ``minLength``;
- ``pattern``: ``logicalTypeOptions.pattern`` (a regular expression the whole value matches);
- ``allowed_values``: the column's ``customProperties.allowedValues`` list.

A column with ``customProperties.onInvalid: null`` keeps its rules but a breach does not
quarantine the row: the row loads, staging nulls the value, and the values nulled are
counted per column in ``governance.ingestion_log.values_nulled`` (``required`` still
quarantines).
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.contracts import Column, Contract, option_rules, pattern_date_sql, present_sql
from orchestration.sql import quote_identifier, quote_literal

DATE_FORMATS = ("dd/mm/yyyy", "yyyy-mm-dd", "excel", "any")
FLAG_VALUES = ("Y", "YES", "T", "TRUE", "1", "N", "NO", "F", "FALSE", "0")


@dataclass(frozen=True)
class RowRule:
    """One row-level rule on one column.

    Attributes:
        column: Contract column name.
        rule: Rule code (required, type, max_length, min_length, pattern, allowed_values).
        broken: SQL boolean, never NULL, true when a row breaks the rule.
        message: What is wrong, in a department's terms.
        nulls: True when the column's ``onInvalid`` is ``null``: a row breaking the rule
            loads (staging nulls the value) and the value is counted, not quarantined.
    """

    column: str
    rule: str
    broken: str
    message: str
    nulls: bool = False


def _iso(t: str) -> str:
    return (
        f"case when regexp_full_match({t}, '[0-9]{{4}}-[0-9]{{1,2}}-[0-9]{{1,2}}([T ].*)?') "
        f"then try_strptime(regexp_replace({t}, '[T ].*$', ''), '%Y-%m-%d') end"
    )


def _day_first(t: str) -> str:
    return (
        f"case when regexp_full_match({t}, '[0-9]{{1,2}}/[0-9]{{1,2}}/[0-9]{{4}}') "
        f"then try_strptime({t}, '%d/%m/%Y') end"
    )


def _excel(t: str) -> str:
    return f"case when regexp_full_match({t}, '[0-9]{{1,6}}(\\.[0-9]+)?') then 1 end"


def date_parses(t: str, fmt: str) -> str:
    """SQL true when text ``t`` parses as a date the way ``parse_date`` parses it."""
    if fmt == "dd/mm/yyyy":
        return f"(({_day_first(t)}) is not null)"
    if fmt == "yyyy-mm-dd":
        return f"(({_iso(t)}) is not null)"
    if fmt not in DATE_FORMATS:
        return f"(({pattern_date_sql(t, fmt)}) is not null)"
    if fmt == "excel":
        return (
            f"(({_excel(t)}) is not null or ({_iso(t)}) is not null "
            f"or ({_day_first(t)}) is not null)"
        )
    others = " or ".join(
        f"try_strptime({t}, '{f}') is not null" for f in ("%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d")
    )
    return (
        f"(({_iso(t)}) is not null or ({_day_first(t)}) is not null or {others} "
        f"or ({_excel(t)}) is not null)"
    )


def _fast_date(v: str, fmt: str) -> str:
    """A cheap test that implies ``date_parses`` (fixed separators, no spaces, strptime)."""
    if fmt == "dd/mm/yyyy":
        return (
            f"(length({v}) between 8 and 10 and substr({v}, -5, 1) = '/' "
            f"and not contains({v}, ' ') and try_strptime({v}, '%d/%m/%Y') is not null)"
        )
    return (
        f"(length({v}) = 10 and substr({v}, 5, 1) = '-' and substr({v}, 8, 1) = '-' "
        f"and not contains({v}, ' ') and try_strptime({v}, '%Y-%m-%d') is not null)"
    )


def _parses(column: Column, v: str, t: str) -> tuple[str, str, str] | None:
    """How text parses by the column's type: (exact SQL, fast SQL, expected form) or None.

    The exact test mirrors the staging macro on the trimmed text ``t``; the fast test, on the
    value ``v`` as delivered, accepts only values the exact test accepts and is evaluated
    first, so the exact one runs only for the rare values the fast one does not accept.
    """
    kind = column.logical_type
    if kind == "date":
        fmt = str(column.options.get("format", "any"))
        if fmt not in DATE_FORMATS:
            return date_parses(t, fmt), "false", f"a date ({fmt})"
        fast = " or ".join(
            _fast_date(v, f)
            for f in (("dd/mm/yyyy",) if fmt == "dd/mm/yyyy" else ())
            + (("yyyy-mm-dd",) if fmt in {"yyyy-mm-dd", "excel", "any"} else ())
            + (("dd/mm/yyyy",) if fmt in {"excel", "any"} else ())
        )
        return date_parses(t, fmt), f"({fast})", f"a date ({fmt})"
    if kind == "timestamp":
        exact = f"(try_cast({t} as timestamp) is not null)"
        return exact, "false", "a timestamp (yyyy-mm-dd hh:mm:ss)"
    if kind == "number" and column.standard_attribute == "money.gbp":
        compact = f"regexp_replace(upper({t}), '[£,\\s]|GBP', '', 'g')"
        return (
            f"(regexp_full_match({compact}, '-?[0-9]+(\\.[0-9]+)?') or "
            f"regexp_full_match({compact}, '\\(-?[0-9]+(\\.[0-9]+)?\\)'))",
            f"regexp_full_match({v}, '£?-?[0-9][0-9,]*(\\.[0-9]+)?')",
            "an amount in pounds (like £1,234.50)",
        )
    if kind == "number":
        compact = f"regexp_replace({t}, '[,\\s]', '', 'g')"
        return (
            f"regexp_full_match({compact}, '-?[0-9]+(\\.[0-9]+)?')",
            f"regexp_full_match({v}, '-?[0-9][0-9,]*(\\.[0-9]+)?')",
            "a number",
        )
    if kind == "integer":
        compact = f"regexp_replace({t}, '[,\\s]', '', 'g')"
        return (
            f"regexp_full_match({compact}, '-?[0-9]+')",
            f"regexp_full_match({v}, '-?[0-9][0-9,]*')",
            "a whole number",
        )
    if kind == "boolean":
        values = ", ".join(quote_literal(x) for x in FLAG_VALUES)
        return f"(upper({t}) in ({values}))", "false", "a yes/no flag (Y/N, true/false, 1/0)"
    return None


def column_rules(column: Column) -> list[RowRule]:
    """The row-level rules of one contract column."""
    v = quote_identifier(column.name)
    t = f"trim({v})"
    present = present_sql(v)
    rules: list[RowRule] = []
    if column.required:
        rules.append(RowRule(column.name, "required", f"(not {present})", "required value missing"))
    parses = _parses(column, v, t)
    if parses:
        exact, fast, expected = parses
        rules.append(
            RowRule(
                column.name,
                "type",
                # CASE evaluates the exact test only for the values the fast one leaves; the
                # fast test implies presence, so it goes first and most values stop there.
                f"(case when {fast} then false when not {present} then false "
                f"when {exact} then false else true end)",
                f"not {expected}",
            )
        )
    rules += [RowRule(column.name, r.rule, r.broken, r.message) for r in option_rules(column, v)]
    if column.on_invalid == "null":
        rules = [
            RowRule(r.column, r.rule, r.broken, r.message, nulls=r.rule != "required")
            for r in rules
        ]
    return rules


def contract_rules(contract: Contract) -> list[RowRule]:
    """Every row-level rule of a contract, column by column."""
    return [rule for column in contract.columns for rule in column_rules(column)]


def quarantining(rules: list[RowRule]) -> list[RowRule]:
    """The rules whose breach sends a row to quarantine (``onInvalid: quarantine``)."""
    return [r for r in rules if not r.nulls]


def nulled_columns(rules: list[RowRule]) -> dict[str, str]:
    """Column -> SQL true when staging nulls its value (``onInvalid: null``)."""
    out: dict[str, list[str]] = {}
    for r in rules:
        if r.nulls:
            out.setdefault(r.column, []).append(r.broken)
    return {column: " or ".join(broken) for column, broken in out.items()}


def any_broken(rules: list[RowRule]) -> str:
    """SQL true when a row breaks any of ``rules`` (``false`` when there are none)."""
    return " or ".join(r.broken for r in rules) or "false"


def violations_list(rules: list[RowRule]) -> str:
    """SQL list of the rule violations of a row, one struct per rule broken."""
    items = [
        f"case when {r.broken} then {{'column_name': {quote_literal(r.column)}, "
        f"'rule': {quote_literal(r.rule)}, 'message': {quote_literal(r.message)}, "
        f"'raw_value': {quote_identifier(r.column)}}} end"
        for r in rules
    ]
    return f"list_filter([{', '.join(items)}], lambda x: x is not null)"
