"""Each dataset's page facts, from the warehouse, the dbt manifest, the contracts and lineage.

- raw and staging tables take their owner, classification and column classifications from
  their own contract (staging columns through the staging names onboarding gives them);
- derived tables take their owner from dbt ``meta`` (``owner``, or ``department`` and that
  department's contract owners), their classification from the contracts of the deliveries
  they are built from, and each column's classification from column lineage when recorded,
  else from a same-named column of a table they are built from;
- governance tables take their descriptions from :mod:`orchestration.governance`;
- disclosure control comes from the manifest: a model built with the dbt macro
  ``suppress_small_counts`` suppresses small counts, at the threshold of its call or the
  macro's default (:data:`orchestration.privacy.THRESHOLD`, which the macro is tested against).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from orchestration import governance
from orchestration.contracts import Contract, ContractError, staging_names
from orchestration.portal.lineage import ancestors, layer_of, topological
from orchestration.portal.load import TableMeta
from orchestration.portal.model import (
    NOT_CLASSIFIED,
    ColumnEdge,
    ColumnInfo,
    ContractRef,
    DatasetInfo,
    Disclosure,
)
from orchestration.privacy import THRESHOLD
from orchestration.standards import CLASSIFICATIONS

SUPPRESSION_MACRO = "suppress_small_counts"
NEVER_PUBLISHED = {"raw", "staging", "intermediate", "linkage", "quarantine"}


def contract_ref(c: Contract) -> ContractRef:
    """The facts of a contract a page shows."""
    return ContractRef(
        id=c.id,
        version=c.version,
        status=c.status,
        title=c.title,
        department=c.department,
        dataset=c.dataset,
        raw_table=c.raw_table,
        owner=c.owner,
        team=c.team,
        classification=c.classification,
        description=c.description,
        purpose=c.purpose,
        limitations=c.limitations,
        legal_basis=c.legal_basis,
        frequency_days=c.frequency_days,
        latency_days=c.latency_days,
        landing_path=c.landing_path,
    )


def highest(classifications) -> str:
    """The most sensitive of ``classifications`` (unknown ones ignored), or ""."""
    known = [c for c in classifications if c in CLASSIFICATIONS]
    return max(known, key=CLASSIFICATIONS.index) if known else NOT_CLASSIFIED


def _meta(node: Mapping) -> dict:
    return {**(node.get("meta") or {}), **((node.get("config") or {}).get("meta") or {})}


def manifest_nodes(manifest: Mapping) -> dict[str, dict]:
    """Models, seeds and sources of the manifest by ``schema.table``."""
    found: dict[str, dict] = {}
    for node in (manifest.get("sources") or {}).values():
        found[f"{node.get('schema')}.{node.get('identifier') or node.get('name')}"] = node
    for node in (manifest.get("nodes") or {}).values():
        if node.get("resource_type") in {"model", "seed", "snapshot"}:
            found[f"{node.get('schema')}.{node.get('alias') or node.get('name')}"] = node
    return found


def _call_arguments(code: str) -> str:
    match = re.search(SUPPRESSION_MACRO + r"\s*\((.*?)\)\s*}}", code, re.DOTALL)
    return match.group(1) if match else ""


def disclosure(node: Mapping | None, suppressed_children: Sequence[str]) -> Disclosure:
    """Disclosure control of a dataset, read from its dbt model."""
    node = node or {}
    macros = (node.get("depends_on") or {}).get("macros") or []
    meta = _meta(node)
    if any(m.rsplit(".", 1)[-1] == SUPPRESSION_MACRO for m in macros):
        code = str(node.get("raw_code") or "")
        arguments = _call_arguments(code)
        named = re.search(r"threshold\s*=\s*(\d+)", arguments)
        parts = [p.strip() for p in re.split(r",(?![^\[]*\])", arguments)]
        threshold = int(named.group(1)) if named else THRESHOLD
        if not named and len(parts) >= 5 and parts[4].isdigit():
            threshold = int(parts[4])
        columns: tuple[str, ...] = ()
        listed = parts[1] if len(parts) > 1 else ""
        if not listed.startswith("["):
            found = re.search(r"set\s+" + re.escape(listed) + r"\s*=\s*(\[.*?\])", code, re.DOTALL)
            listed = found.group(1) if found else ""
        columns = tuple(re.findall(r"['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]", listed))
        return Disclosure(
            True,
            threshold,
            columns,
            f"Small-count suppression (dbt macro {SUPPRESSION_MACRO}): every count from 1 to "
            f"{threshold - 1} is suppressed (threshold {threshold}; zeros are published), and "
            "where a column holds a single suppressed count one more cell is suppressed, so "
            "the total row cannot reveal it.",
        )
    if suppressed_children:
        return Disclosure(
            False,
            None,
            (),
            "No small-count suppression in this table itself: it is the unsuppressed input of "
            f"{', '.join(suppressed_children)}, which applies it"
            + (
                " (this one is internal: dbt meta.publish is false)."
                if meta.get("publish") is False
                else "."
            ),
        )
    note = "No small-count suppression is applied to this table."
    if str(meta.get("disclosure_control", "")):
        note += f" dbt meta.disclosure_control: {meta['disclosure_control']}."
    return Disclosure(False, None, (), note)


def _contract_column_classes(contract: Contract, staging: bool) -> dict[str, tuple[str, str]]:
    where = f"contract {contract.id} v{contract.version}"
    classes = {c.name: (c.classification, f"{where}, column {c.name}") for c in contract.columns}
    if not staging:
        return classes
    try:
        names = staging_names(contract)
    except ContractError:
        return {}
    return {staged: classes[name] for name, staged in names.items() if name in classes}


def build_datasets(
    tables: Mapping[tuple[str, str], TableMeta],
    manifest: Mapping,
    contracts: Sequence[Contract],
    parents: Mapping[str, Sequence[str]],
    column_edges: Sequence[ColumnEdge] | None,
    published: set[str],
    governance_owner: str,
) -> dict[str, DatasetInfo]:
    """Every dataset's page facts, by ``schema.table`` in id order."""
    nodes = manifest_nodes(manifest)
    by_raw = {f"raw.{c.raw_table}": c for c in contracts}
    by_id = {c.id: c for c in contracts}
    ids = sorted(f"{s}.{t}" for s, t in tables)
    suppressing = {d for d in ids if disclosure(nodes.get(d), ()).applied}
    lineage_by_column: dict[tuple[str, str], list[ColumnEdge]] = {}
    for edge in column_edges or ():
        lineage_by_column.setdefault((edge.dataset, edge.column), []).append(edge)
    column_classes: dict[str, dict[str, tuple[str, str]]] = {}
    found: dict[str, DatasetInfo] = {}
    for dataset in topological(parents, ids):
        schema, table = dataset.split(".", 1)
        layer = layer_of(schema)
        node = nodes.get(dataset) or {}
        meta = _meta(node)
        upstream = [by_raw[a] for a in ancestors(parents, dataset) if a in by_raw]
        own = by_raw.get(dataset) or by_id.get(str(meta.get("contract_id", "")))
        if own is None and layer == "staging" and len(upstream) == 1:
            own = upstream[0]
        classes: dict[str, tuple[str, str]] = {}
        if own is not None:
            classes = _contract_column_classes(own, staging=dataset not in by_raw)
        spec = governance.TABLES.get(table) if schema == governance.SCHEMA else None
        manifest_columns = node.get("columns") or {}
        columns = []
        for name, kind, comment in tables[(schema, table)].columns:
            doc = str((manifest_columns.get(name) or {}).get("description") or "")
            if not doc and own is not None and dataset in by_raw:
                doc = next((c.description for c in own.columns if c.name == name), "")
            if not doc and spec is not None:
                doc = next((c.description for c in spec.columns if c.name == name), "")
            cls, source = classes.get(name, (NOT_CLASSIFIED, ""))
            if not cls:
                cls, source = _inherited(dataset, name, lineage_by_column, parents, column_classes)
            columns.append(ColumnInfo(name, kind, doc or comment, cls, source, comment))
        column_classes[dataset] = {
            c.name: (c.classification, c.classification_source) for c in columns if c.classification
        }
        owner, department = _ownership(own, meta, upstream, contracts)
        if not owner and spec is not None:
            owner = governance_owner
        classification, class_source = _classification(own, upstream, department, columns)
        description = str(node.get("description") or "")
        if not description and own is not None and dataset in by_raw:
            description = own.description
        if not description and spec is not None:
            description = spec.description
        children = [d for d in suppressing if dataset in parents.get(d, ())]
        found[dataset] = DatasetInfo(
            id=dataset,
            schema=schema,
            name=table,
            layer=layer,
            quality_name=f"{layer}.{table}",
            description=description or tables[(schema, table)].comment,
            owner=owner,
            department=department,
            classification=classification,
            classification_source=class_source,
            contract=contract_ref(own) if own is not None else None,
            upstream_contracts=tuple(contract_ref(c) for c in sorted(upstream, key=lambda c: c.id)),
            columns=tuple(columns),
            rows=tables[(schema, table)].rows,
            published=dataset in published,
            publish_note=_publish_note(layer, meta, dataset in published),
            disclosure=disclosure(node, sorted(children)),
        )
    return dict(sorted(found.items()))


def _ownership(
    own: Contract | None, meta: Mapping, upstream: Sequence[Contract], contracts: Sequence[Contract]
) -> tuple[str, str]:
    """A dataset's owner and department: its contract's; else dbt ``meta`` (``owner``,
    ``department``), a department found from the owner, or the one department it is built
    from; and the department's contract owners when no owner is named."""
    if own is not None:
        return own.owner, own.department
    department = str(meta.get("department", ""))
    owner = str(meta.get("owner", ""))
    if not department and owner:
        owned = {c.department for c in contracts if c.owner == owner}
        department = owned.pop() if len(owned) == 1 else ""
    if not department and len({c.department for c in upstream}) == 1:
        department = upstream[0].department
    if not owner and department:
        owner = ", ".join(sorted({c.owner for c in contracts if c.department == department}))
    return owner, department


def _publish_note(layer: str, meta: Mapping, published: bool) -> str:
    if layer in NEVER_PUBLISHED:
        return f"Never published: the {layer} layer stays inside the platform."
    if meta.get("publish") is False:
        return "Not published: dbt meta.publish is false."
    if published:
        return "In the published snapshot analysts query."
    return "Not in the current published snapshot."


def _inherited(
    dataset: str,
    column: str,
    lineage: Mapping[tuple[str, str], list[ColumnEdge]],
    parents: Mapping[str, Sequence[str]],
    known: Mapping[str, Mapping[str, tuple[str, str]]],
) -> tuple[str, str]:
    """A derived column's classification: the highest of its recorded upstream columns, else
    that of a same-named column in a table it is built from."""
    edges = lineage.get((dataset, column), [])
    if edges:
        found = [
            (known.get(e.upstream_dataset, {}).get(e.upstream_column, ("", ""))[0], e)
            for e in edges
        ]
        best = highest(c for c, _ in found)
        if best:
            edge = next(e for c, e in found if c == best)
            return best, f"column lineage: {edge.upstream_dataset}.{edge.upstream_column}"
    for parent in parents.get(dataset, ()):
        cls = known.get(parent, {}).get(column)
        if cls:
            return cls[0], f"same column in {parent}"
    return NOT_CLASSIFIED, ""


def _classification(
    own: Contract | None,
    upstream: Sequence[Contract],
    department: str,
    columns: Sequence[ColumnInfo],
) -> tuple[str, str]:
    """A dataset's classification and where it comes from.

    Its own contract's; else, when column lineage classifies every column, the highest of
    its columns; else the highest of the contracts it is built from, of its own department
    when it has one (a department's conformed table carries that department's data, though
    the person index it is keyed through was built from every department's records).
    """
    if own is not None:
        return own.classification, f"contract {own.id} v{own.version}"
    traced = [c for c in columns if c.classification_source.startswith("column lineage")]
    if columns and traced and all(c.classification for c in columns):
        return highest(c.classification for c in columns), "highest of its columns"
    mine = [c for c in upstream if c.department == department] if department else []
    if mine:
        return (
            highest(c.classification for c in mine),
            f"highest of the {len(mine)} {department} contract(s) it is built from",
        )
    if upstream:
        return (
            highest(c.classification for c in upstream),
            f"highest of the {len(upstream)} contract(s) it is built from",
        )
    return NOT_CLASSIFIED, ""
