"""A dataset's page: facts, schema, lineage, quality, declaration, disclosure, agreements."""

from __future__ import annotations

from orchestration.portal.declaration import (
    markdown_html,
    percent,
    severity_meaning,
    target_reason,
)
from orchestration.portal.html import (
    Raw,
    anchor,
    badge,
    definition_list,
    join,
    link,
    table,
    tag,
)
from orchestration.portal.lineage import neighbourhood
from orchestration.portal.model import CheckResult, ColumnEdge, DatasetInfo, Portal, Quality
from orchestration.portal.svg import column_lineage_svg, lineage_svg, runs_chart
from orchestration.portal.urls import Links


def classification_text(value: str) -> str:
    """A classification as shown, or a plain statement that none is known."""
    return value or "not classified"


def _facts(d: DatasetInfo, portal: Portal, links: Links) -> Raw:
    if d.contract is not None:
        c = d.contract
        contract = join([f"{c.id} version {c.version} ({c.status})"])
    elif d.upstream_contracts:
        contract = join(
            [
                "none of its own; built from ",
                join(
                    (
                        link(
                            links.dataset(f"raw.{c.raw_table}") or "#",
                            f"{c.id} v{c.version}",
                        )
                        for c in d.upstream_contracts
                    ),
                    ", ",
                ),
            ]
        )
    else:
        contract = "none"
    department = (
        link(links.department(d.department), d.department)
        if d.department
        else "shared (built from several departments' data)"
        if len({c.department for c in d.upstream_contracts}) > 1
        else "none"
    )
    items = [
        ("Layer", d.layer),
        ("Owner", d.owner or "not recorded"),
        ("Department", department),
        (
            "Classification",
            join(
                [
                    classification_text(d.classification),
                    f" ({d.classification_source})" if d.classification_source else "",
                ]
            ),
        ),
        ("Contract", contract),
        ("Rows", "unknown" if d.rows is None else f"{d.rows:,}"),
        ("Published", d.publish_note),
    ]
    for entry in portal.catalogue or ():
        if entry.dataset in {d.id, d.quality_name}:
            target = links.catalogue_file(entry.file)
            shown = link(target, entry.identifier) if target else entry.identifier
            items.append(("Catalogue entry", join([shown, f" ({entry.title})"])))
    return definition_list(items)


def _contract_section(d: DatasetInfo) -> Raw:
    c = d.contract
    if c is None:
        return Raw("")
    return join(
        [
            tag("h2", "Data contract", id="contract"),
            definition_list(
                [
                    ("Contract", f"{c.id} version {c.version} ({c.status})"),
                    ("Title", c.title),
                    ("Description", c.description),
                    ("Owner", f"{c.owner} ({c.team})"),
                    ("Legal basis", c.legal_basis),
                    ("Purpose", c.purpose),
                    ("Limitations", c.limitations or "none stated"),
                    (
                        "Delivery",
                        f"every {c.frequency_days:g} day(s), up to {c.latency_days:g} day(s) "
                        f"late, into {c.landing_path}",
                    ),
                ]
            ),
        ]
    )


def _schema(d: DatasetInfo) -> Raw:
    rows = []
    for c in d.columns:
        description = c.description
        if c.comment and c.comment != c.description:
            description += f" (warehouse comment: {c.comment})"
        source = tag("small", f" ({c.classification_source})") if c.classification_source else ""
        cells = [
            tag("td", tag("code", c.name)),
            tag("td", c.data_type),
            tag("td", description or "not documented"),
            tag("td", join([classification_text(c.classification), source])),
        ]
        rows.append(tag("tr", join(cells), id=anchor(c.name), class_="column"))
    head = tag(
        "thead",
        tag("tr", join(tag("th", h) for h in ["Column", "Type", "Description", "Classification"])),
    )
    return join(
        [
            tag("h2", "Schema", id="schema"),
            tag("table", join([head, tag("tbody", join(rows))]), class_="schema"),
        ]
    )


def _lineage(d: DatasetInfo, portal: Portal, links: Links) -> Raw:
    children = portal.children()
    hood = neighbourhood(portal.parents, children, d.id)
    ups = portal.parents.get(d.id, ())
    downs = children.get(d.id, ())

    def listed(ids) -> Raw:
        if not ids:
            return Raw("none")
        return join(
            (
                link(links.node(n), portal.nodes[n].label)
                if links.node(n)
                else tag("span", portal.nodes[n].label if n in portal.nodes else n)
                for n in ids
            ),
            ", ",
        )

    hidden = ""
    if hood.hidden_upstream or hood.hidden_downstream:
        hidden = tag(
            "p",
            f"Not drawn, to keep the drawing readable: {hood.hidden_upstream} further "
            f"upstream and {hood.hidden_downstream} further downstream node(s).",
            class_="note",
        )
    return join(
        [
            tag("h2", "Lineage", id="lineage"),
            tag(
                "p",
                "Table-level lineage from the dbt manifest, the Dagster asset graph and the "
                "contracts' landing folders. Upstream on the left, downstream on the right; "
                "click a box to open that dataset.",
            ),
            tag("div", lineage_svg(hood, portal.nodes, links.node), class_="lineage-wrap"),
            hidden,
            definition_list([("Built from", listed(ups)), ("Feeds", listed(downs))]),
        ]
    )


def _upstream(e: ColumnEdge, links: Links) -> Raw:
    """Where a column comes from: the upstream column, linked to its dataset's page."""
    if not e.upstream_dataset:
        return Raw("a constant (no upstream column)")
    shown = f"{e.upstream_dataset}.{e.upstream_column}" if e.upstream_column else e.upstream_dataset
    target = links.column(e.upstream_dataset, e.upstream_column or "")
    return link(target, shown) if target else join([shown])


def _downstream(e: ColumnEdge, links: Links) -> Raw:
    """A column made from this dataset's, linked to its dataset's page."""
    target = links.column(e.dataset, e.column)
    shown = f"{e.dataset}.{e.column}"
    return link(target, shown) if target else join([shown])


def _column_lineage(d: DatasetInfo, portal: Portal, links: Links) -> Raw:
    title = tag("h2", "Column lineage", id="column-lineage")
    if portal.column_lineage is None:
        return join([title, tag("p", "No column lineage recorded (no governance.column_lineage).")])
    edges = [e for e in portal.column_lineage if d.id in (e.dataset, e.upstream_dataset)]
    if not edges:
        return join([title, tag("p", "No column lineage recorded for this dataset.")])
    rows = [
        [
            tag("code", e.column) if e.dataset == d.id else _downstream(e, links),
            e.kind,
            _upstream(e, links) if e.dataset == d.id else tag("code", e.upstream_column),
        ]
        for e in edges
    ]
    return join(
        [
            title,
            tag("div", column_lineage_svg(d.id, edges, links.dataset), class_="lineage-wrap"),
            table(["Column", "Kind", "From"], rows, class_="column-lineage-table"),
        ]
    )


def _check_rows(results: list[CheckResult]) -> list[list[object]]:
    return [
        [
            tag("code", r.check_name),
            r.dimension,
            severity_meaning(r.severity),
            badge("passed", "ok") if r.success else badge("FAILED", "bad"),
            r.error or r.observed_value or "",
        ]
        for r in results
    ]


def quality_section(d: DatasetInfo, quality: Quality, links: Links, full_page: bool) -> Raw:
    """The scorecard (with why each target is met), the runs chart and, on the dataset's
    page, its declaration."""
    parts: list[object] = [tag("h2", "Quality", id="quality")]
    latest = list(quality.latest)
    if not quality.scorecard and not latest:
        parts.append(tag("p", "No quality results recorded for this dataset."))
        return join(parts)
    if quality.scorecard:
        rows = [
            [
                s.dimension,
                f"{s.checks_passed} of {s.checks}",
                percent(s.score),
                "every check passes" if s.target is None else percent(s.target),
                badge("met", "ok") if s.met else badge("not met", "bad"),
                target_reason(s, latest),
            ]
            for s in quality.scorecard
        ]
        parts.append(
            table(
                ["Dimension", "Checks passed", "Score", "Target", "Met", "Why"],
                rows,
                class_="scorecard",
            )
        )
    if quality.runs:
        parts += [
            tag("h3", f"Score in the last {len(quality.runs)} run(s)"),
            quality_runs_chart(quality),
        ]
    if full_page:
        parts.append(
            tag(
                "p",
                join(
                    [
                        "Every check, its observed values and its last runs: ",
                        link(links.quality(d.id), "quality results of this dataset"),
                        ".",
                    ]
                ),
            )
        )
    return join(parts)


def quality_runs_chart(quality: Quality) -> Raw:
    """The chart of a dataset's runs."""
    return tag("figure", runs_chart(quality.runs), class_="chart")


def _declaration(quality: Quality) -> Raw:
    parts: list[object] = [tag("h2", "Quality declaration", id="declaration")]
    if quality.declaration is None:
        parts.append(tag("p", "No declaration: declarations are written for published datasets."))
        return join(parts)
    state = (
        badge("every blocking check passed", "ok")
        if quality.blocking_checks_passed
        else badge("a blocking check failed", "bad")
    )
    parts += [
        tag("p", state),
        tag("div", Raw(markdown_html(quality.declaration)), class_="declaration"),
    ]
    if quality.latest:
        parts += [
            tag("h3", "Severity of each check"),
            table(
                ["Check", "Dimension", "Severity", "Result", "Observed"],
                _check_rows(list(quality.latest)),
                class_="checks",
            ),
        ]
    return join(parts)


def _disclosure(d: DatasetInfo) -> Raw:
    x = d.disclosure
    items = [("Small-count suppression", "applied" if x.applied else "not applied")]
    if x.applied:
        items += [
            ("Threshold", f"{x.threshold} (counts 1 to {(x.threshold or 1) - 1} suppressed)"),
            ("Columns", ", ".join(x.columns) or "the count columns"),
        ]
    return join(
        [tag("h2", "Disclosure control", id="disclosure"), definition_list(items), tag("p", x.note)]
    )


def _agreements(d: DatasetInfo, portal: Portal, links: Links) -> Raw:
    title = tag("h2", "Sharing agreements", id="agreements")
    covering = portal.agreements_for(d.id)
    if not covering:
        return join([title, tag("p", "No sharing agreement covers this dataset.")])
    rows = [
        [
            link(links.agreement(a.id), a.id),
            a.consumer,
            a.purpose,
            a.legal_basis,
            badge("in force", "ok")
            if a.in_force
            else badge(f"expired {a.expires.isoformat() if a.expires else ''}", "bad"),
            ", ".join(a.datasets.get(d.id, ())),
        ]
        for a in covering
    ]
    return join(
        [
            title,
            table(
                ["Agreement", "Consumer", "Purpose", "Legal basis", "Status", "Permitted columns"],
                rows,
                class_="agreements",
            ),
        ]
    )


def dataset_body(d: DatasetInfo, portal: Portal, links: Links) -> Raw:
    """The body of a dataset's page."""
    quality = portal.quality.get(d.id, Quality())
    return join(
        [
            tag("p", d.description or "No description recorded.", class_="lead"),
            _facts(d, portal, links),
            _contract_section(d),
            _schema(d),
            _lineage(d, portal, links),
            _column_lineage(d, portal, links),
            quality_section(d, quality, links, full_page=True),
            _declaration(quality),
            _disclosure(d),
            _agreements(d, portal, links),
        ]
    )
