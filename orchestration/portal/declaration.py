"""Quality declarations as safe HTML, and why each scorecard target counts as met or not.

Declarations are Markdown (``governance.quality_declarations``) that quote dataset and
contract descriptions, which are untrusted. They are rendered with markdown-it-py (already
installed with ``rich``) with raw HTML off, so any markup in the text comes out escaped, and
with links and images off, so nothing in a declaration can make the page fetch anything.
"""

from __future__ import annotations

from collections.abc import Sequence

from markdown_it import MarkdownIt

from orchestration.portal.model import CheckResult
from orchestration.quality.results import ScorecardRow

HEADING_SHIFT = 2
"""Declaration headings start at ``h3``: the page's own title and sections come first."""


def _parser() -> MarkdownIt:
    return (
        MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
        .enable("table")
        .disable(["image", "link", "autolink", "html_inline", "html_block"])
    )


def markdown_html(text: str) -> str:
    """``text`` (Markdown) as HTML: raw HTML escaped, no links or images, headings from h3."""
    md = _parser()
    tokens = md.parse(text or "")
    for token in tokens:
        if token.type in {"heading_open", "heading_close"}:
            level = min(6, int(token.tag[1:]) + HEADING_SHIFT)
            token.tag = f"h{level}"
    return md.renderer.render(tokens, md.options, {})


def percent(value: float | None) -> str:
    """``99.42%``, ``98%``; ``n/a`` for None."""
    if value is None:
        return "n/a"
    return f"{value:.2f}".rstrip("0").rstrip(".") + "%"


def _names(results: Sequence[CheckResult]) -> str:
    return ", ".join(r.check_name for r in results)


def target_reason(row: ScorecardRow, results: Sequence[CheckResult]) -> str:
    """Why a scorecard row's target counts as met or not, in one sentence.

    Args:
        row: One dataset × dimension row of the scorecard.
        results: The latest results of the dataset's checks (any dimension).
    """
    mine = [r for r in results if r.dimension == row.dimension]
    failed = [r for r in mine if not r.success and r.error is None]
    warn_failed = [r for r in failed if r.severity == "WARN"]
    error_failed = [r for r in failed if r.severity == "ERROR"]
    if row.checks_errored:
        return (
            f"not met: {row.checks_errored} check(s) could not be evaluated (the platform "
            "reported an error), and a check that cannot be evaluated counts as failed"
        )
    if row.score is None:
        return "not met: no score could be computed"
    if row.target is None:
        if row.met:
            return (
                f"met: all {row.checks} check(s) passed (no target is set, so every check "
                "must pass)"
            )
        return (
            f"not met: {row.checks - row.checks_passed} of {row.checks} check(s) failed and "
            "no target is set, so every check must pass"
        )
    if not row.met:
        return f"not met: {percent(row.score)} < {percent(row.target)} target"
    reason = f"met: {percent(row.score)} ≥ {percent(row.target)} target"
    if warn_failed:
        reason += (
            f". WARN-only check(s) failed ({_names(warn_failed)}); the target is still met "
            "because the score is the mean share of rows meeting the dimension's checks, "
            "which stays at or above the target, and a WARN check is recorded but blocks "
            "nothing"
        )
    if error_failed:
        reason += (
            f". ERROR check(s) failed ({_names(error_failed)}): the score meets the target, "
            "but a failed ERROR check blocks downstream assets and publishing all the same"
        )
    return reason


def severity_meaning(severity: str) -> str:
    """What a check's severity means for the data, in words."""
    if severity == "ERROR":
        return "ERROR: blocks downstream assets and publishing when it fails"
    return f"{severity}: recorded; does not block"
