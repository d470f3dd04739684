"""The portal's other pages: the index with its search, the quality results pages, the
department pages and the sharing agreements."""

from __future__ import annotations

import json
from datetime import datetime

from orchestration.portal.dataset_page import quality_section
from orchestration.portal.declaration import percent, severity_meaning
from orchestration.portal.html import (
    Raw,
    badge,
    definition_list,
    join,
    link,
    table,
    tag,
    when,
)
from orchestration.portal.model import DatasetInfo, Portal, Quality
from orchestration.portal.urls import Links, agreement_anchor

LAYER_ORDER = (
    "conformed",
    "marts",
    "reference",
    "raw",
    "staging",
    "intermediate",
    "linkage",
    "governance",
)
SEARCH_TEXT = 160
"""Characters of a description kept in the search index."""


def _layer_key(layer: str) -> tuple[int, str]:
    return (LAYER_ORDER.index(layer) if layer in LAYER_ORDER else len(LAYER_ORDER), layer)


def search_index(portal: Portal, links: Links) -> str:
    """Every dataset and column as JSON for the search box, safe inside a ``<script>``."""
    entries = []
    for d in portal.datasets.values():
        entries.append(
            {
                "k": "dataset",
                "n": d.id,
                "d": d.layer,
                "t": d.description[:SEARCH_TEXT],
                "c": d.classification,
                "u": links.dataset(d.id),
            }
        )
        for c in d.columns:
            entries.append(
                {
                    "k": "column",
                    "n": c.name,
                    "d": d.id,
                    "t": c.description[:SEARCH_TEXT],
                    "c": c.classification,
                    "u": links.column(d.id, c.name),
                }
            )
    text = json.dumps(entries, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    # Inside <script> only "</" (and "<!--") could end the element early: escape every "<",
    # ">" and "&" as JSON unicode escapes, which JSON.parse reads back unchanged.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def index_body(portal: Portal, links: Links) -> Raw:
    """The portal's front page."""
    search = join(
        [
            tag("h2", "Search datasets and columns", id="search-heading"),
            tag("label", "Name or words from a description", for_="search"),
            Raw(
                '<input id="search" type="search" autocomplete="off" '
                'placeholder="e.g. postcode, income, persons">'
            ),
            tag("p", "", id="result-count", aria_live="polite"),
            tag("ul", "", id="results"),
            Raw(
                '<script type="application/json" id="search-index">'
                + search_index(portal, links)
                + "</script>"
            ),
            tag(
                "p",
                "Search runs in the page itself (no server, no network). Without scripts, "
                "browse the lists below.",
                class_="note",
            ),
        ]
    )
    docs = tag(
        "p",
        join(
            [
                "Quality results render here offline: see ",
                link(links.root + "quality/index.html", "the quality results pages"),
                ". The Great Expectations Data Docs under docs/quality load Bootstrap, jQuery "
                "and Vega from the internet (CDNs) and do not render offline, so the portal "
                "links to its own pages instead.",
            ]
        ),
        class_="note",
    )
    suppressed = [d for d in portal.datasets.values() if d.disclosure.applied]
    disclosure = join(
        [
            tag("h2", "Disclosure control", id="disclosure"),
            table(
                ["Dataset", "Published", "Threshold", "Columns"],
                [
                    [
                        link(links.dataset(d.id) or "#", d.id),
                        "yes" if d.published else "no",
                        d.disclosure.threshold,
                        ", ".join(d.disclosure.columns),
                    ]
                    for d in suppressed
                ],
            )
            if suppressed
            else tag("p", "No table applies small-count suppression."),
        ]
    )
    layers: dict[str, list[DatasetInfo]] = {}
    for d in portal.datasets.values():
        layers.setdefault(d.layer, []).append(d)
    browse = [tag("h2", "Datasets", id="datasets")]
    for layer in sorted(layers, key=_layer_key):
        items = []
        for d in layers[layer]:
            columns = join(
                tag("li", link(links.column(d.id, c.name) or "#", c.name)) for c in d.columns
            )
            summary = join(
                [
                    link(links.dataset(d.id) or "#", d.id),
                    " ",
                    badge(d.classification or "not classified", "info"),
                    " ",
                    badge("published", "ok") if d.published else "",
                ]
            )
            items.append(
                tag(
                    "li",
                    join(
                        [
                            summary,
                            tag("details", join([tag("summary", "columns"), tag("ul", columns)])),
                        ]
                    ),
                )
            )
        browse.append(
            tag(
                "details",
                join([tag("summary", f"{layer} ({len(items)})"), tag("ul", join(items))]),
                open=layer in {"conformed", "marts"},
                class_="layer",
            )
        )
    departments = join(
        [
            tag("h2", "Departments", id="departments"),
            tag(
                "ul",
                join(
                    tag(
                        "li",
                        join([link(links.department(name), name), _maturity_badge(portal, name)]),
                    )
                    for name in portal.departments
                ),
            ),
        ]
    )
    return join([search, docs, join(browse), departments, disclosure])


def _maturity_badge(portal: Portal, name: str) -> Raw:
    assessed = (portal.maturity or {}).get(name)
    return badge(f"maturity {assessed.level}", "info") if assessed else Raw("")


def quality_index_body(portal: Portal, links: Links) -> Raw:
    """The list of datasets with quality results."""
    rows = []
    for d in portal.datasets.values():
        q = portal.quality.get(d.id)
        if not q or not (q.latest or q.scorecard):
            continue
        failed = sum(1 for r in q.latest if not r.success)
        rows.append(
            [
                link(links.quality(d.id), d.id),
                len(q.latest),
                badge(f"{failed} failed", "bad") if failed else badge("all passed", "ok"),
                f"{sum(s.met for s in q.scorecard)} of {len(q.scorecard)}",
                len(q.runs),
            ]
        )
    return join(
        [
            tag(
                "p",
                "Every quality check's latest result and recent runs, per dataset, readable "
                "offline (the Great Expectations Data Docs need the internet).",
            ),
            table(["Dataset", "Checks", "Latest", "Dimensions met", "Runs shown"], rows),
        ]
    )


def quality_body(d: DatasetInfo, quality: Quality, links: Links) -> Raw:
    """A dataset's quality results page: every check and its last runs."""
    latest = list(quality.latest)
    checks = table(
        ["Check", "Dimension", "Severity", "Passed", "Observed", "Rows not meeting it", "Error"],
        [
            [
                tag("code", r.check_name),
                r.dimension,
                severity_meaning(r.severity),
                badge("passed", "ok") if r.success else badge("FAILED", "bad"),
                r.observed_value or "",
                ""
                if r.unexpected_count is None
                else f"{r.unexpected_count:,} of {r.element_count or 0:,} "
                f"({percent(r.unexpected_percent or 0.0)})",
                r.error or "",
            ]
            for r in latest
        ],
        class_="checks",
    )
    started: dict[str, datetime] = {}
    for results in quality.history.values():
        for r in results:
            started[r.run_id] = min(started.get(r.run_id, r.validated_at), r.validated_at)
    runs = sorted((at, run) for run, at in started.items())
    run_ids = [run for _, run in runs]
    history_rows = []
    for name, results in sorted(quality.history.items()):
        by_run = {r.run_id: r for r in results}
        cells: list[object] = [tag("code", name)]
        for run in run_ids:
            r = by_run.get(run)
            if r is None:
                cells.append("")
            else:
                cells.append(
                    badge(percent(r.score) if r.score is not None else "error", "ok")
                    if r.success
                    else badge("failed " + (percent(r.score) if r.score is not None else ""), "bad")
                )
        history_rows.append(cells)
    header = ["Check"] + [f"{at:%Y-%m-%d %H:%M} ({run[:8]})" for at, run in runs]
    return join(
        [
            tag("p", join(["Dataset: ", link(links.dataset(d.id) or "#", d.id)])),
            quality_section(d, quality, links, full_page=False),
            tag("h2", "Every check", id="checks"),
            checks,
            tag("h2", "Last runs", id="runs"),
            table(header, history_rows, class_="history") if history_rows else tag("p", "none"),
        ]
    )


def department_body(name: str, portal: Portal, links: Links) -> Raw:
    """A department's page: its maturity level with the evidence, and its datasets."""
    parts: list[object] = [tag("h2", "Data maturity", id="maturity")]
    if portal.maturity is None:
        parts.append(tag("p", "No maturity assessment recorded (no governance.data_maturity)."))
    elif name not in portal.maturity:
        parts.append(tag("p", "No maturity assessment recorded for this department."))
    else:
        m = portal.maturity[name]
        parts.append(
            definition_list(
                [
                    ("Level", tag("strong", m.level, class_="maturity-level")),
                    ("Criteria met", f"{m.criteria_met} of {m.criteria_total}"),
                    ("Assessed", when(m.assessed_at)),
                    ("Run", m.run_id),
                ]
            )
        )
        parts.append(
            table(
                ["Criterion", "Level", "Met", "Evidence"],
                [
                    [
                        e.criterion,
                        e.level,
                        badge("met", "ok")
                        if e.met and e.applicable
                        else badge("not applicable", "info")
                        if not e.applicable
                        else badge("not met", "bad"),
                        e.detail,
                    ]
                    for e in m.evidence
                ],
                class_="evidence",
            )
        )
        if m.next_level_needs:
            parts += [
                tag("h3", "What the next level needs"),
                tag("ul", join(tag("li", n) for n in m.next_level_needs)),
            ]
    mine = [d for d in portal.datasets.values() if d.department == name]
    parts += [
        tag("h2", "Datasets", id="datasets"),
        table(
            ["Dataset", "Layer", "Owner", "Classification", "Contract"],
            [
                [
                    link(links.dataset(d.id) or "#", d.id),
                    d.layer,
                    d.owner,
                    d.classification or "not classified",
                    f"{d.contract.id} v{d.contract.version}" if d.contract else "",
                ]
                for d in mine
            ],
        )
        if mine
        else tag("p", "none"),
    ]
    parts.append(tag("h2", "Catalogue", id="catalogue"))
    if portal.catalogue is None:
        parts.append(tag("p", "No catalogue recorded (no governance.catalogue)."))
    else:
        names = {d.id for d in mine} | {d.quality_name for d in mine}
        entries = [e for e in portal.catalogue if e.dataset in names]
        for e in entries:
            target = links.catalogue_file(e.file)
            parts.append(
                tag(
                    "details",
                    join(
                        [
                            tag("summary", join([e.title or e.identifier, f" ({e.dataset})"])),
                            tag("p", link(target, "catalogue file") if target else ""),
                            tag("pre", e.entry),
                        ]
                    ),
                )
            )
        if not entries:
            parts.append(tag("p", "No catalogue entry for this department's datasets."))
    return join(parts)


def agreements_body(portal: Portal, links: Links) -> Raw:
    """Every sharing agreement: consumer, purpose, legal basis, expiry, datasets, columns."""
    parts: list[object] = [
        tag(
            "p",
            "Sharing agreements (expectations/agreements) name who may receive which columns "
            "of which datasets, why, under which law and until when. Nothing is shared "
            "without one.",
        )
    ]
    for a in portal.agreements:
        if a.error:
            parts.append(
                tag(
                    "section",
                    join([tag("h2", a.id), tag("p", f"Cannot be read: {a.error}", class_="note")]),
                    id=agreement_anchor(a.id),
                )
            )
            continue
        status = (
            badge(f"in force until {a.expires}", "ok")
            if a.in_force
            else badge(f"expired {a.expires}", "bad")
        )
        rows = [
            [link(links.dataset(ds) or "#", ds) if links.dataset(ds) else ds, ", ".join(cols)]
            for ds, cols in sorted(a.datasets.items())
        ]
        parts.append(
            tag(
                "section",
                join(
                    [
                        tag("h2", a.id),
                        definition_list(
                            [
                                ("Consumer", a.consumer),
                                ("Purpose", a.purpose),
                                ("Legal basis", a.legal_basis),
                                ("Status", status),
                            ]
                        ),
                        table(["Dataset", "Permitted columns"], rows),
                    ]
                ),
                id=agreement_anchor(a.id),
                class_="agreement",
            )
        )
    return join(parts)
