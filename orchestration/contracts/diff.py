"""Differences between two versions of a data contract, sorted into breaking and not.

A change is **breaking** when a delivery or a consumer that worked under the old contract can
fail or be misled under the new one: a column removed or renamed (name or delivered header),
a type narrowed, a new required column or an optional one made required, the primary key
changed, a classification raised, the format, delimiter or drift policy tightened, or a
row rule tightened (shorter ``maxLength``, new ``pattern``, fewer ``allowedValues``). Other
changes (an optional column added, a type widened, a description or quality rule edited, a
classification lowered) are listed as non-breaking.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.contracts.model import Column, Contract
from orchestration.standards import CLASSIFICATIONS

# Old type -> new types that accept every value the old one did (text is kept as delivered).
WIDENINGS = {
    "integer": {"number", "string"},
    "number": {"string"},
    "date": {"timestamp", "string"},
    "timestamp": {"string"},
    "boolean": {"string"},
    "string": set(),
}


@dataclass(frozen=True)
class Change:
    """One difference between two contract versions.

    Attributes:
        breaking: Whether the change can break deliveries or consumers.
        field: Where the change is (``column nino``, ``classification``, ...).
        message: What changed.
    """

    breaking: bool
    field: str
    message: str


def _rank(classification: str) -> int:
    return CLASSIFICATIONS.index(classification)


def _column_changes(old: Column, new: Column) -> list[Change]:
    where = f"column {new.name}"
    out: list[Change] = []
    if old.physical_name != new.physical_name:
        out.append(
            Change(
                True,
                where,
                f"delivered header renamed {old.physical_name!r} -> {new.physical_name!r}",
            )
        )
    if old.logical_type != new.logical_type:
        widened = new.logical_type in WIDENINGS.get(old.logical_type, set())
        out.append(
            Change(
                not widened,
                where,
                f"type {'widened' if widened else 'narrowed'} "
                f"{old.logical_type} -> {new.logical_type}",
            )
        )
    if not old.required and new.required:
        out.append(Change(True, where, "became required"))
    if old.required and not new.required:
        out.append(Change(False, where, "no longer required"))
    if old.classification != new.classification:
        raised = _rank(new.classification) > _rank(old.classification)
        out.append(
            Change(
                raised,
                where,
                f"classification {'raised' if raised else 'lowered'} "
                f"{old.classification} -> {new.classification}",
            )
        )
    if old.standard_attribute != new.standard_attribute:
        out.append(
            Change(
                True,
                where,
                f"standard attribute {old.standard_attribute} -> {new.standard_attribute}",
            )
        )
    if old.staging_name != new.staging_name:
        out.append(
            Change(
                True,
                where,
                f"staging name {old.staging_name or '(default)'} -> "
                f"{new.staging_name or '(default)'}: downstream models read the staging name",
            )
        )
    if (old.on_invalid, old.on_invalid_declared) != (new.on_invalid, new.on_invalid_declared):
        # Quarantining what used to load (or checking an identifier's format at the door)
        # tightens the contract; nulling what used to be quarantined loosens it.
        tightened = new.on_invalid == "quarantine" and (
            old.on_invalid == "null" or not old.on_invalid_declared
        )
        out.append(Change(tightened, where, f"onInvalid {old.on_invalid} -> {new.on_invalid}"))
    if old.identifier_scheme != new.identifier_scheme:
        out.append(
            Change(
                True,
                where,
                f"identifier scheme {old.identifier_scheme} -> {new.identifier_scheme}: "
                "pseudonyms change",
            )
        )
    o, n = old.options, new.options
    if o.get("format") != n.get("format"):
        out.append(Change(True, where, f"format {o.get('format')} -> {n.get('format')}"))
    if n.get("maxLength") is not None and (
        o.get("maxLength") is None or n["maxLength"] < o["maxLength"]
    ):
        out.append(Change(True, where, f"maxLength {o.get('maxLength')} -> {n['maxLength']}"))
    if n.get("pattern") and n.get("pattern") != o.get("pattern"):
        out.append(Change(True, where, f"pattern {o.get('pattern')} -> {n['pattern']}"))
    if n.get("allowedValues") is not None:
        removed = set(map(str, o.get("allowedValues") or [])) - set(map(str, n["allowedValues"]))
        if o.get("allowedValues") is None or removed:
            out.append(Change(True, where, f"allowed values narrowed (removed {sorted(removed)})"))
    if old.description != new.description:
        out.append(Change(False, where, "description changed"))
    return out


def diff_contracts(old: Contract, new: Contract) -> list[Change]:
    """Every change from ``old`` to ``new``, breaking ones first."""
    changes: list[Change] = []
    if (old.department, old.dataset) != (new.department, new.dataset):
        changes.append(
            Change(True, "dataset", f"{old.raw_table} -> {new.raw_table} (a different dataset)")
        )
    old_cols = {c.name: c for c in old.columns}
    new_cols = {c.name: c for c in new.columns}
    removed = [c for n, c in old_cols.items() if n not in new_cols]
    added = [c for n, c in new_cols.items() if n not in old_cols]
    for col in removed:
        twin = next(
            (
                a
                for a in added
                if a.physical_name == col.physical_name
                or a.standard_attribute == col.standard_attribute != "record.id"
            ),
            None,
        )
        if twin is not None:
            added.remove(twin)
            changes.append(Change(True, f"column {col.name}", f"renamed to {twin.name}"))
        else:
            changes.append(Change(True, f"column {col.name}", "removed"))
    for col in added:
        changes.append(
            Change(
                col.required,
                f"column {col.name}",
                "added (required)" if col.required else "added (optional)",
            )
        )
    for name in old_cols.keys() & new_cols.keys():
        changes.extend(_column_changes(old_cols[name], new_cols[name]))
    if old.primary_key != new.primary_key:
        changes.append(
            Change(True, "primary key", f"{list(old.primary_key)} -> {list(new.primary_key)}")
        )
    if old.classification != new.classification:
        raised = _rank(new.classification) > _rank(old.classification)
        changes.append(
            Change(
                raised,
                "classification",
                f"{'raised' if raised else 'lowered'} {old.classification} -> {new.classification}",
            )
        )
    if old.format != new.format:
        changes.append(Change(True, "servers.landing.format", f"{old.format} -> {new.format}"))
    if old.delimiter != new.delimiter:
        changes.append(
            Change(True, "servers.landing.delimiter", f"{old.delimiter!r} -> {new.delimiter!r}")
        )
    if old.drift_policy != new.drift_policy:
        changes.append(
            Change(
                new.drift_policy == "reject",
                "schemaDriftPolicy",
                f"{old.drift_policy} -> {new.drift_policy}",
            )
        )
    old_rules = {r.name: r for r in old.quality}
    new_rules = {r.name: r for r in new.quality}
    for name in sorted(old_rules.keys() ^ new_rules.keys()):
        verb = "added" if name in new_rules else "removed"
        changes.append(Change(False, f"quality {name}", verb))
    for name in sorted(old_rules.keys() & new_rules.keys()):
        if old_rules[name] != new_rules[name]:
            changes.append(Change(False, f"quality {name}", "changed"))
    if old.owner != new.owner:
        changes.append(Change(False, "owner", f"{old.owner} -> {new.owner}"))
    if old.version != new.version:
        changes.append(Change(False, "version", f"{old.version} -> {new.version}"))
    breaking = [c for c in changes if c.breaking]
    if breaking and _major(new.version) <= _major(old.version):
        changes.append(
            Change(
                False, "version", f"breaking changes need a new major version (still {new.version})"
            )
        )
    return sorted(changes, key=lambda c: (not c.breaking, c.field))


def _major(version: str) -> int:
    head = version.split(".", 1)[0].lstrip("v")
    return int(head) if head.isdigit() else 0
