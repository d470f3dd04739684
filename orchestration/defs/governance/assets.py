"""Governance assets built from the quality checks' results.

They sit downstream of the assets they describe, so the asset graph shows which data each
result, score and declaration is about:

- ``governance/quality_results``: the append-only history of every check's result;
- ``governance/quality_scorecard``: dataset × GDQF dimension → score, target, met;
- ``governance/quality_declarations``: plain-English declaration per published dataset;
- ``governance/quality_docs``: the Great Expectations Data Docs site.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration import governance
from orchestration.contracts import load_contracts
from orchestration.defs.governance.keys import (
    QUALITY_DECLARATIONS_KEY,
    QUALITY_DOCS_KEY,
    QUALITY_RESULTS_KEY,
    QUALITY_SCORECARD_KEY,
    governance_asset,
)
from orchestration.defs.quality.checks import validated_assets
from orchestration.project import dbt_project, ensure_manifest
from orchestration.publish import published_models
from orchestration.quality import (
    CHECK_NAME,
    GreatExpectationsResource,
    ScorecardRow,
    build_scorecard,
    declaration_markdown,
    ensure_results_table,
    latest_results,
    write_declarations,
)
from orchestration.quality.results import rename_recorded_datasets
from orchestration.settings import get_settings


def current_checks(assets, contracts) -> list[tuple[str, str]]:
    """``(dataset, check_name)`` of every check defined now, freshness checks included; the
    dataset as checks name it (``<layer>.<table>``, resolved to the warehouse's
    ``<schema>.<table>`` where results are read)."""
    checks = [(a.dataset, c[0]) for a in assets for c in a.checks]
    checks += [(f"raw.{c.raw_table}", CHECK_NAME) for c in contracts]
    return checks


def quality_targets(assets) -> dict[str, dict[str, float]]:
    """Target percentages by dataset and dimension, from contracts and suites."""
    targets: dict[str, dict[str, float]] = {}
    for a in assets:
        declared = getattr(a.contract, "quality_targets", None) if a.contract else a.suite.targets
        if declared:
            targets[a.dataset] = dict(declared)
    return targets


def _markdown_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def build_governance_assets(models) -> list[dg.AssetsDefinition]:
    """The quality governance assets, downstream of the validated and published assets.

    Declarations are written for the published conformed tables and marts; the reference
    code lists are standards, not measured by the quality suites."""
    contracts = load_contracts()
    assets = validated_assets()
    validated_keys = sorted({a.key for a in assets} | {a_key(c) for c in contracts}, key=str)
    models = [m for m in models if m.layer != "reference"]
    published_keys = [dg.AssetKey([m.layer, m.name]) for m in models]

    @governance_asset(
        key=QUALITY_RESULTS_KEY,
        deps=validated_keys,
        kinds={"duckdb", "greatexpectations"},
        description=(
            "Append-only history of every quality check's result: run_id, validated_at, "
            "dataset, check_name, GDQF dimension, severity, success, element_count, "
            "unexpected_count, unexpected_percent, observed_value (and any platform error). "
            "dataset is the table's <schema>.<table> in the warehouse."
        ),
        metadata=governance.asset_metadata("quality_results"),
    )
    def quality_results(context: dg.AssetExecutionContext, warehouse: DuckDBResource):
        with warehouse.get_connection() as con:
            ensure_results_table(con)
            rename_recorded_datasets(con)
            total = con.execute("select count(*) from governance.quality_results").fetchone()[0]
            rows = con.execute(
                "select dataset, check_name, dimension, severity, success, unexpected_percent, "
                "observed_value from governance.quality_results where run_id = ? "
                "order by success, severity, dataset, check_name",
                [context.run.run_id],
            ).fetchall()
        failed = [list(r) for r in rows if not r[4]]
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": total,
                "results_this_run": len(rows),
                "failed_this_run": len(failed),
                "failures": dg.MetadataValue.md(
                    _markdown_table(
                        [
                            "dataset",
                            "check",
                            "dimension",
                            "severity",
                            "passed",
                            "% bad",
                            "observed",
                        ],
                        failed,
                    )
                    if failed
                    else "none"
                ),
            }
        )

    @governance_asset(
        key=QUALITY_SCORECARD_KEY,
        deps=[QUALITY_RESULTS_KEY],
        description=(
            "GDQF scorecard: for each dataset and dimension, the achieved score (mean of its "
            "checks' scores: % of rows meeting a row-level check, 100 or 0 for a whole-table "
            "check), the target declared in the contract or suite, and whether it is met."
        ),
        metadata=governance.asset_metadata("quality_scorecard"),
    )
    def quality_scorecard(context: dg.AssetExecutionContext, warehouse: DuckDBResource):
        with warehouse.get_connection() as con:
            rows = build_scorecard(
                con,
                current_checks(assets, contracts),
                quality_targets(assets),
                context.run.run_id,
            )
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": len(rows),
                "dimensions_met": sum(r.met for r in rows),
                "dimensions_not_met": sum(not r.met for r in rows),
                "scorecard": dg.MetadataValue.md(
                    _markdown_table(
                        ["dataset", "dimension", "checks", "passed", "score", "target", "met"],
                        [
                            [
                                r.dataset,
                                r.dimension,
                                r.checks,
                                r.checks_passed,
                                None if r.score is None else f"{r.score:.2f}",
                                "all pass" if r.target is None else f"{r.target:g}",
                                "yes" if r.met else "NO",
                            ]
                            for r in rows
                        ],
                    )
                ),
            }
        )

    @governance_asset(
        key=QUALITY_DECLARATIONS_KEY,
        deps=[QUALITY_SCORECARD_KEY, *published_keys],
        kinds={"duckdb", "markdown"},
        description=(
            "A plain-English quality declaration for each published dataset, from the latest "
            "results: what was checked, what was found, and the scores against targets. "
            "Written to governance.quality_declarations and <data dir>/docs/declarations/."
        ),
        metadata=governance.asset_metadata("quality_declarations"),
    )
    def quality_declarations(warehouse: DuckDBResource):
        out_dir = get_settings().docs_dir / "declarations"
        out_dir.mkdir(parents=True, exist_ok=True)
        raw_datasets = [f"raw.{c.raw_table}" for c in contracts]
        declarations: dict[str, tuple[bool, str]] = {}
        with warehouse.get_connection() as con:
            card = con.execute(
                "select dataset, dimension, checks, checks_passed, checks_errored, score, "
                "target, met from governance.quality_scorecard"
            ).fetchall()
            by_dataset: dict[str, list[ScorecardRow]] = {}
            for row in card:
                by_dataset.setdefault(row[0], []).append(ScorecardRow(*row))
            upstream = {d: by_dataset.get(d, []) for d in raw_datasets}
            for model in models:
                results = latest_results(con, [model.dataset])
                markdown = declaration_markdown(
                    model.dataset,
                    model.description,
                    by_dataset.get(model.dataset, []),
                    results,
                    upstream,
                )
                ok = not any(r[3] == "ERROR" and not r[4] for r in results)
                declarations[model.dataset] = (ok, markdown)
                (out_dir / f"{model.dataset}.md").write_text(markdown, encoding="utf-8")
            write_declarations(con, declarations)
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": len(declarations),
                "declarations_dir": dg.MetadataValue.path(str(out_dir)),
                **{
                    f"declaration {name}": dg.MetadataValue.md(md)
                    for name, (_, md) in declarations.items()
                },
            }
        )

    @governance_asset(
        key=QUALITY_DOCS_KEY,
        deps=[QUALITY_RESULTS_KEY],
        kinds={"greatexpectations", "html"},
        description=(
            "Great Expectations Data Docs: every suite and its recent validation results, as "
            "a static site under <data dir>/docs/quality (history bounded)."
        ),
    )
    def quality_docs(great_expectations: GreatExpectationsResource):
        index = great_expectations.build_docs()
        return dg.MaterializeResult(
            metadata={
                "index": dg.MetadataValue.path(str(index)),
                "runs_kept_per_suite": great_expectations.history,
            }
        )

    return [quality_results, quality_scorecard, quality_declarations, quality_docs]


def a_key(contract) -> dg.AssetKey:
    """Asset key of a contract's raw table."""
    return dg.AssetKey(["raw", contract.raw_table])


@dg.definitions
def defs() -> dg.Definitions:
    """The quality governance assets."""
    ensure_manifest()
    models = published_models(dbt_project().manifest_path)
    return dg.Definitions(assets=build_governance_assets(models))
