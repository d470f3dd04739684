"""Inline SVG drawings: table-level lineage, column-level lineage and the quality runs chart.

Drawn from data alone (no script), so they render from ``file://`` and in print; every
label is escaped and every link points at a page of the portal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from orchestration.portal.html import Raw, esc, join, tag
from orchestration.portal.lineage import Neighbourhood
from orchestration.portal.model import ColumnEdge, LineageNode, RunScore

NODE_WIDTH = 250
NODE_HEIGHT = 26
COLUMN_GAP = 60
ROW_GAP = 10
CHARS = 34
"""Characters of a label that fit in a node; longer ones lose their start (the tooltip has
the whole name)."""


def _label(text: str) -> str:
    """``text``, cut at the start when too long: the end names the table or column."""
    return text if len(text) <= CHARS else "…" + text[-(CHARS - 1) :]


def _node(x: float, y: float, label: str, title: str, classes: str, href: str | None, **data):
    body = join(
        [
            tag("title", title),
            Raw(f'<rect x="{x:g}" y="{y:g}" width="{NODE_WIDTH}" height="{NODE_HEIGHT}" rx="4"/>'),
            tag("text", _label(label), x=f"{x + 8:g}", y=f"{y + NODE_HEIGHT / 2 + 4:g}"),
        ]
    )
    if href is None:
        return tag("g", body, class_=classes, **data)
    return tag("a", body, href=href, class_=classes, **data)


def _edge(x1: float, y1: float, x2: float, y2: float, classes: str = "edge") -> Raw:
    middle = (x1 + x2) / 2
    return Raw(
        f'<path class="{esc(classes)}" d="M{x1:g},{y1:g} C{middle:g},{y1:g} '
        f'{middle:g},{y2:g} {x2:g},{y2:g}"/>'
    )


def lineage_svg(
    hood: Neighbourhood,
    nodes: Mapping[str, LineageNode],
    href: Callable[[str], str | None],
) -> Raw:
    """The upstream (left) and downstream (right) of a dataset, one column per level.

    Args:
        hood: The dataset's neighbourhood (:func:`~orchestration.portal.lineage.neighbourhood`).
        nodes: Every lineage node by id.
        href: The link of a node's page, or None for a node without one.
    """
    columns: dict[int, list[str]] = {}
    for node, level in hood.levels.items():
        columns.setdefault(level, []).append(node)
    first = min(columns)
    place: dict[str, tuple[float, float]] = {}
    for level, members in columns.items():
        for row, node in enumerate(sorted(members)):
            place[node] = (
                (level - first) * (NODE_WIDTH + COLUMN_GAP) + 2,
                row * (NODE_HEIGHT + ROW_GAP) + 2,
            )
    width = (max(columns) - first + 1) * (NODE_WIDTH + COLUMN_GAP) - COLUMN_GAP + 4
    height = max(len(m) for m in columns.values()) * (NODE_HEIGHT + ROW_GAP) - ROW_GAP + 4
    parts = []
    for up, down in hood.edges:
        (x1, y1), (x2, y2) = place[up], place[down]
        parts.append(_edge(x1 + NODE_WIDTH, y1 + NODE_HEIGHT / 2, x2, y2 + NODE_HEIGHT / 2, "edge"))
    for node, (x, y) in sorted(place.items()):
        info = nodes.get(node) or LineageNode(node, node, "table")
        level = hood.levels[node]
        side = "focus" if level == 0 else "upstream" if level < 0 else "downstream"
        target = None if level == 0 else href(node)
        parts.append(
            _node(
                x,
                y,
                info.label,
                f"{info.label} ({info.kind}, {side})",
                f"node {info.kind} {side}",
                target,
                data_node=node,
            )
        )
    return tag(
        "svg",
        join(parts),
        class_="lineage",
        role="img",
        aria_label=f"Lineage of {hood.focus}: {len(hood.levels) - 1} related nodes",
        viewBox=f"0 0 {width:g} {height:g}",
        width=f"{width:g}",
        height=f"{height:g}",
        xmlns="http://www.w3.org/2000/svg",
    )


def column_lineage_svg(
    dataset: str,
    edges: Sequence[ColumnEdge],
    href: Callable[[str], str | None],
    limit: int = 80,
) -> Raw:
    """Columns feeding this dataset's columns (left), its columns (middle) and the columns
    they feed (right), each edge coloured by its kind (direct, derived, aggregated, masked)."""
    edges = list(edges)[:limit]
    left = sorted({(e.upstream_dataset, e.upstream_column) for e in edges if e.dataset == dataset})
    right = sorted({(e.dataset, e.column) for e in edges if e.upstream_dataset == dataset})
    middle = sorted(
        {(dataset, e.column) for e in edges if e.dataset == dataset}
        | {(dataset, e.upstream_column) for e in edges if e.upstream_dataset == dataset}
    )
    lanes = [left, middle, right]
    place: dict[tuple[int, str, str], tuple[float, float]] = {}
    for lane, members in enumerate(lanes):
        for row, (d, c) in enumerate(members):
            place[(lane, d, c)] = (
                lane * (NODE_WIDTH + COLUMN_GAP * 2) + 2,
                row * (NODE_HEIGHT + ROW_GAP) + 2,
            )
    parts = []
    for e in edges:
        if e.dataset == dataset:
            start, end = (0, e.upstream_dataset, e.upstream_column), (1, dataset, e.column)
        else:
            start, end = (1, dataset, e.upstream_column), (2, e.dataset, e.column)
        (x1, y1), (x2, y2) = place[start], place[end]
        parts.append(
            join(
                [
                    _edge(
                        x1 + NODE_WIDTH,
                        y1 + NODE_HEIGHT / 2,
                        x2,
                        y2 + NODE_HEIGHT / 2,
                        f"edge {e.kind}",
                    ),
                ]
            )
        )
    for (lane, d, c), (x, y) in sorted(place.items()):
        label = c if lane == 1 else f"{d}.{c}" if d and c else d or "(a constant)"
        target = None if lane == 1 else href(d)
        parts.append(
            _node(
                x,
                y,
                label,
                f"{d}.{c}",
                "node column" + (" focus" if lane == 1 else ""),
                target,
                data_column=f"{d}.{c}",
            )
        )
    rows = max([len(m) for m in lanes] + [1])
    width = 3 * NODE_WIDTH + 4 * COLUMN_GAP + 4
    height = rows * (NODE_HEIGHT + ROW_GAP) - ROW_GAP + 4
    return tag(
        "svg",
        join(parts),
        class_="column-lineage",
        role="img",
        aria_label=f"Column lineage of {dataset}: {len(edges)} edges",
        viewBox=f"0 0 {width:g} {height:g}",
        width=f"{width:g}",
        height=f"{height:g}",
        xmlns="http://www.w3.org/2000/svg",
    )


CHART_WIDTH = 420
CHART_HEIGHT = 150
MARGIN_LEFT = 44
MARGIN = 14
AXIS_LABELS = 14


def runs_chart(runs: Sequence[RunScore]) -> Raw:
    """The dataset's quality score in each run kept, oldest left, one point per run."""
    scores = [r.score for r in runs if r.score is not None]
    low = min(scores + [100.0])
    bottom = max(0.0, (int(low) - 5) // 10 * 10.0)
    plot_w = CHART_WIDTH - MARGIN_LEFT - MARGIN
    plot_h = CHART_HEIGHT - 2 * MARGIN - AXIS_LABELS

    def y_of(score: float | None) -> float:
        value = bottom if score is None else max(bottom, score)
        return MARGIN + plot_h * (1 - (value - bottom) / (100.0 - bottom))

    step = plot_w / max(1, len(runs) - 1)
    points = [
        (MARGIN_LEFT + (step * i if len(runs) > 1 else plot_w / 2), y_of(r.score), r)
        for i, r in enumerate(runs)
    ]
    parts = [
        Raw(
            f'<line class="axis" x1="{MARGIN_LEFT}" y1="{MARGIN}" x2="{MARGIN_LEFT}" '
            f'y2="{MARGIN + plot_h}"/>'
            f'<line class="axis" x1="{MARGIN_LEFT}" y1="{MARGIN + plot_h}" '
            f'x2="{MARGIN_LEFT + plot_w}" y2="{MARGIN + plot_h}"/>'
        ),
        tag("text", "100%", x="4", y=f"{MARGIN + 4}"),
        tag("text", f"{bottom:g}%", x="4", y=f"{MARGIN + plot_h + 4:g}"),
    ]
    if runs:
        below = MARGIN + plot_h + AXIS_LABELS
        parts.append(
            tag("text", f"{runs[0].validated_at:%Y-%m-%d}", x=str(MARGIN_LEFT), y=str(below))
        )
        if len(runs) > 1:
            parts.append(
                tag(
                    "text",
                    f"{runs[-1].validated_at:%Y-%m-%d}",
                    x=str(MARGIN_LEFT + plot_w),
                    y=str(below),
                    text_anchor="end",
                )
            )
    if len(points) > 1:
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y, r in points if r.score is not None)
        parts.append(Raw(f'<polyline class="run-line" points="{line}"/>'))
    for x, y, r in points:
        score = "not evaluated" if r.score is None else f"{r.score:.2f}%"
        title = (
            f"run {r.run_id[:8]} at {r.validated_at:%Y-%m-%d %H:%M}: {score} "
            f"({r.passed} of {r.checks} checks passed)"
        )
        failed = r.passed < r.checks or r.score is None
        parts.append(
            tag(
                "circle",
                tag("title", title),
                class_="run-point failed" if failed else "run-point",
                cx=f"{x:.1f}",
                cy=f"{y:.1f}",
                r="4.5",
                data_run=r.run_id,
            )
        )
    return tag(
        "svg",
        join(parts),
        class_="run-chart",
        role="img",
        aria_label=f"Quality score in the last {len(runs)} run(s)",
        viewBox=f"0 0 {CHART_WIDTH} {CHART_HEIGHT}",
        width=str(CHART_WIDTH),
        height=str(CHART_HEIGHT),
        data_points=str(len(runs)),
        xmlns="http://www.w3.org/2000/svg",
    )
