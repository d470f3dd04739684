"""The validation rules a column's options set, as SQL over its delivered text.

``logicalTypeOptions`` ``maxLength``, ``minLength`` and ``pattern`` and the custom property
``allowedValues`` each give one rule; an identifier whose staging macro checks a format (NINO,
NHS number, UPN, UPRN, UK postcode) gets a ``format`` rule when its column declares
``onInvalid`` (without it, staging nulls an invalid identifier as it always has). The ingest
row rules use these expressions to decide quarantine; for a column with ``onInvalid: null``
the staging model uses the same expressions to null the values that break them, so the door
and staging agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.contracts.columns import Column
from orchestration.sql import quote_identifier, quote_literal


@dataclass(frozen=True)
class OptionRule:
    """One rule set by a column's options.

    Attributes:
        rule: Rule code (format, max_length, min_length, pattern, allowed_values).
        broken: SQL boolean, never NULL, true when the value breaks the rule.
        message: What is wrong, in a department's terms.
    """

    rule: str
    broken: str
    message: str


_NINO = "[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]"
_NINO_PREFIXES = "('BG', 'GB', 'NK', 'KN', 'TN', 'NT', 'ZZ')"


def _nhs_valid(v: str) -> str:
    digits = f"regexp_replace({v}, '[\\s-]', '', 'g')"
    total = " + ".join(
        f"try_cast(substr({digits}, {i}, 1) as integer) * {11 - i}" for i in range(1, 10)
    )
    return (
        f"(regexp_full_match({digits}, '[0-9]{{10}}') and mod({total}, 11) != 1 "
        f"and mod(11 - mod({total}, 11), 11) = try_cast(substr({digits}, 10, 1) as integer))"
    )


def identifier_valid_sql(attribute: str, v: str) -> str | None:
    """SQL true when text ``v`` is a valid identifier of ``attribute`` (the identifiers whose
    staging macro checks a format and nulls what fails it), else None for other attributes.

    The same tests as the macros ``clean_nino``, ``clean_nhs_number``, ``clean_upn``,
    ``clean_uprn`` and ``clean_postcode`` (``tests/test_row_rules.py`` runs both).
    """
    if attribute == "person.nino":
        compact = f"upper(regexp_replace({v}, '\\s', '', 'g'))"
        return (
            f"(regexp_full_match({compact}, '{_NINO}') "
            f"and substr({compact}, 1, 2) not in {_NINO_PREFIXES})"
        )
    if attribute == "person.nhs_number":
        return _nhs_valid(v)
    if attribute == "person.pupil_number":
        compact = f"upper(regexp_replace({v}, '\\s', '', 'g'))"
        return f"regexp_full_match({compact}, '[A-Z][0-9]{{11}}[0-9A-Z]')"
    if attribute == "property.uprn":
        digits = f"regexp_replace(trim({v}), '\\.0+$', '')"
        return f"regexp_full_match({digits}, '[0-9]{{1,12}}')"
    if attribute == "address.postcode":
        compact = f"regexp_replace(upper({v}), '[^A-Z0-9]', '', 'g')"
        return f"regexp_full_match({compact}, '[A-Z]{{1,2}}[0-9][A-Z0-9]?[0-9][A-Z]{{2}}')"
    return None


def present_sql(v: str) -> str:
    """SQL true when the text ``v`` holds a value (not NULL, not only spaces).

    DuckDB's trim() removes spaces only: a value is present unless it is all spaces. A first
    byte above the space settles it with one comparison; trim() runs only for the rest.
    """
    return f"({v} is not null and ({v} >= '!' or trim({v}) <> ''))"


def option_rules(column: Column, v: str | None = None) -> list[OptionRule]:
    """The rules of a column's options, over the column (or the SQL text ``v``)."""
    v = v or quote_identifier(column.name)
    t = f"trim({v})"
    present = present_sql(v)
    options = column.options
    rules: list[OptionRule] = []
    valid = identifier_valid_sql(column.standard_attribute, v)
    if valid is not None and column.on_invalid_declared:
        rules.append(
            OptionRule(
                "format",
                f"({present} and not coalesce({valid}, false))",
                f"not a valid {column.standard_attribute.split('.', 1)[1].replace('_', ' ')}",
            )
        )
    if options.get("maxLength") is not None:
        n = int(options["maxLength"])
        rules.append(
            OptionRule(
                "max_length",
                f"coalesce(length({v}) > {n}, false)",
                f"longer than {n} characters",
            )
        )
    if options.get("minLength") is not None:
        n = int(options["minLength"])
        rules.append(
            OptionRule(
                "min_length",
                f"({present} and length({t}) < {n})",
                f"shorter than {n} characters",
            )
        )
    if options.get("pattern"):
        pattern = quote_literal(str(options["pattern"]))
        rules.append(
            OptionRule(
                "pattern",
                f"({present} and not regexp_full_match({t}, {pattern}))",
                f"does not match the pattern {options['pattern']}",
            )
        )
    if options.get("allowedValues"):
        allowed = [str(a) for a in options["allowedValues"]]
        values = ", ".join(quote_literal(a) for a in allowed)
        shown = ", ".join(allowed[:12]) + (", ..." if len(allowed) > 12 else "")
        rules.append(
            OptionRule(
                "allowed_values",
                f"({present} and {t} not in ({values}))",
                f"not one of the allowed values ({shown})",
            )
        )
    return rules
