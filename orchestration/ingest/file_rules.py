"""File rules a delivered file must meet before its rows are read: the contract's delimiter and
a header that matches the contract (schema drift)."""

from __future__ import annotations

import csv
import difflib

from orchestration.contracts import Contract

OTHER_DELIMITERS = (";", "\t", "|", ",")


class FileRejected(Exception):
    """A delivered file cannot be loaded; the message says why in a department's terms."""

    def __init__(self, message: str, reason: str = "unreadable"):
        self.reason = reason
        super().__init__(message)


def check_columns(contract: Contract, delivered: list[str]) -> str:
    """Checks delivered column names against the contract (schema drift).

    Returns:
        A note for the log when extra columns were accepted, else an empty string.

    Raises:
        FileRejected: Duplicate or empty names, a missing required column (named as renamed
            when a delivered column looks like it), or extra columns under policy ``reject``.
    """
    blanks = [i + 1 for i, d in enumerate(delivered) if not str(d).strip()]
    if blanks:
        raise FileRejected(f"column(s) {blanks} of the header have no name", "schema_drift")
    repeated = sorted({d for d in delivered if delivered.count(d) > 1})
    if repeated:
        raise FileRejected(f"column(s) {repeated} appear more than once", "schema_drift")
    present = set(delivered)
    expected = {c.physical_name for c in contract.columns}
    extra = [d for d in delivered if d not in expected]
    missing = [
        c.physical_name for c in contract.columns if c.required and c.physical_name not in present
    ]
    if missing:
        renamed = []
        for m in missing:
            close = difflib.get_close_matches(m.lower(), [e.lower() for e in extra], 1, 0.6)
            if close:
                original = next(e for e in extra if e.lower() == close[0])
                renamed.append(f"{m!r} (renamed to {original!r}?)")
            else:
                renamed.append(repr(m))
        raise FileRejected(
            "required column(s) missing: "
            + ", ".join(renamed)
            + f"; the file has {', '.join(repr(d) for d in delivered) or 'no columns'}",
            "schema_drift",
        )
    if extra and contract.drift_policy == "reject":
        raise FileRejected(
            "unexpected column(s) "
            + ", ".join(repr(e) for e in extra)
            + " (the contract's schemaDriftPolicy is 'reject'; agree a new contract version)",
            "schema_drift",
        )
    return ""


def header_names(contract: Contract, header: bytes) -> list[str]:
    text = header.decode("utf-8")
    names = next(csv.reader([text], delimiter=contract.delimiter, quotechar='"'), [])
    expected = {c.physical_name for c in contract.columns}
    if len(names) <= 1 and len(contract.columns) > 1:
        for other in OTHER_DELIMITERS:
            if other == contract.delimiter:
                continue
            split = next(csv.reader([text], delimiter=other, quotechar='"'), [])
            if len(split) > 1 and expected & set(split):
                shown = {"\t": "tab"}.get(other, repr(other))
                raise FileRejected(
                    f"the file is delimited by {shown} but the contract says "
                    f"{contract.delimiter!r}",
                    "delimiter",
                )
    return names
