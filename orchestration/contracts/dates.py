"""Date formats of a contract (``logicalTypeOptions.format``): the four named formats and
patterns built from date tokens, each translated into one DuckDB ``strptime`` test.

A pattern is a sequence of tokens and separators:

- ``yyyy`` (four-digit year), ``yy`` (two-digit year, DuckDB's ``%y``: 00-68 is 20xx);
- ``mm`` / ``dd`` (two-digit month / day), ``m`` / ``d`` (one or two digits);
- ``MMM`` (a month's three-letter English abbreviation, any case: Jan ... Dec);
- any other character except letters, digits, quotes, ``\\`` and ``%`` is a separator, taken
  literally (``yyyymmdd``, ``dd.mm.yyyy``, ``d MMM yyyy``, ``mm/dd/yyyy``).

A pattern names the year, the month and the day once each, and a one-or-two-digit token
(``m``, ``d``) is never next to another digit token without a separator (``dmyyyy`` could not
be read unambiguously). A value matches when its trimmed text has the pattern's shape (a
regular expression) and DuckDB's ``strptime`` accepts it: an impossible date such as
``19890231`` for ``yyyymmdd`` does not parse. The dbt macro ``parse_date_pattern`` translates
patterns the same way; ``tests/test_row_rules.py`` runs both on the same values.
"""

from __future__ import annotations

from dataclasses import dataclass

NAMED_DATE_FORMATS = ("dd/mm/yyyy", "yyyy-mm-dd", "excel", "any")

# token -> (strptime directive, regular expression, part of the date, digits)
TOKENS = {
    "yyyy": ("%Y", "[0-9]{4}", "year", True),
    "yy": ("%y", "[0-9]{2}", "year", True),
    "mm": ("%m", "[0-9]{2}", "month", True),
    "m": ("%m", "[0-9]{1,2}", "month", True),
    "dd": ("%d", "[0-9]{2}", "day", True),
    "d": ("%d", "[0-9]{1,2}", "day", True),
    "MMM": ("%b", "[A-Za-z]{3}", "month", False),
}
VARIABLE_WIDTH = {"m", "d"}
FORBIDDEN_SEPARATORS = set("'\"\\%`")


class DateFormatError(ValueError):
    """A date pattern cannot be used; the message says why."""


@dataclass(frozen=True)
class DatePattern:
    """A date pattern translated for DuckDB.

    Attributes:
        pattern: The pattern as the contract writes it.
        strptime: The DuckDB ``strptime`` format (``%Y%m%d``).
        regex: A regular expression the whole trimmed value must match first (RE2 syntax).
    """

    pattern: str
    strptime: str
    regex: str


def _tokens(pattern: str) -> list[str]:
    """The pattern split into tokens and one-character separators."""
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch.isalpha():
            run = ch
            while i + len(run) < len(pattern) and pattern[i + len(run)] == ch:
                run += ch
            token = next((t for t in ("yyyy", "yy", "MMM", "mm", "m", "dd", "d") if run == t), None)
            if token is None:
                raise DateFormatError(
                    f"{run!r} is not a date token (use yyyy, yy, mm, m, dd, d, MMM)"
                )
            parts.append(token)
            i += len(run)
            continue
        if ch.isdigit() or ch in FORBIDDEN_SEPARATORS or not ch.isprintable():
            raise DateFormatError(f"{ch!r} cannot separate the parts of a date")
        parts.append(ch)
        i += 1
    return parts


def date_pattern(pattern: str) -> DatePattern:
    """Validates a date pattern and translates it for DuckDB.

    Raises:
        DateFormatError: An unknown token, a part missing or repeated, or a one-or-two-digit
            token next to another digit token without a separator.
    """
    parts = _tokens(pattern)
    seen = [TOKENS[p][2] for p in parts if p in TOKENS]
    for part in ("year", "month", "day"):
        if seen.count(part) != 1:
            problem = "has no" if part not in seen else "repeats the"
            raise DateFormatError(f"{pattern!r} {problem} {part}")
    for left, right in zip(parts, parts[1:], strict=False):
        if (
            left in TOKENS
            and right in TOKENS
            and TOKENS[left][3]
            and TOKENS[right][3]
            and (left in VARIABLE_WIDTH or right in VARIABLE_WIDTH)
        ):
            raise DateFormatError(
                f"{pattern!r}: {left!r} next to {right!r} needs a separator "
                "(a one-or-two-digit token cannot touch another number)"
            )
    strptime = "".join(TOKENS[p][0] if p in TOKENS else p for p in parts)
    regex = "".join(TOKENS[p][1] if p in TOKENS else (p if p == " " else "\\" + p) for p in parts)
    return DatePattern(pattern, strptime, regex)


def check_date_format(value: str) -> str | None:
    """None when ``value`` is a usable date format, else what is wrong with it."""
    if value in NAMED_DATE_FORMATS:
        return None
    try:
        date_pattern(value)
    except DateFormatError as exc:
        return str(exc)
    return None


def pattern_date_sql(text: str, pattern: str) -> str:
    """SQL of the date that trimmed text ``text`` holds by ``pattern``, or NULL.

    The same expression as the dbt macro ``parse_date_pattern`` renders.
    """
    p = date_pattern(pattern)
    regex = p.regex.replace("'", "''")
    return (
        f"case when regexp_full_match({text}, '{regex}') "
        f"then cast(try_strptime({text}, '{p.strptime}') as date) end"
    )
