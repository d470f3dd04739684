"""The governance portal from hand-made inputs: pages, escaping, lineage, quality, privacy.

A small warehouse (a raw table under a hostile contract, its staging model, a conformed
table, a suppressed mart and the governance tables), a hand-written dbt manifest, sharing
agreements and a published snapshot; the browser test (test_portal_browser.py) covers the
real pipeline's portal.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
import yaml

from orchestration import governance
from orchestration.contracts import load_contract
from orchestration.portal import build_portal, file_name, markdown_html, target_reason
from orchestration.portal.model import CheckResult
from orchestration.privacy import THRESHOLD
from orchestration.project import CONTRACTS_DIR
from orchestration.quality.results import ScorecardRow

HOSTILE = '<script>alert("owned")</script><img src=x onerror=alert(1)>'
TODAY = date(2026, 1, 1)
RUNS = [("run-a", datetime(2025, 12, 1, 6)), ("run-b", datetime(2025, 12, 2, 6))]
RUNS.append(("run-c", datetime(2025, 12, 3, 6)))
DECLARATION = f"""# Quality declaration: conformed.income

{HOSTILE} [click](javascript:alert(1)) ![pixel](http://tracker.example/p.png)

| Dimension | Score | Target | Met |
|---|---|---|---|
| validity | 99.85% | 98.00% | yes |

- **gross_pay_non_negative** (validity, ERROR): passed.
"""


def hostile_contract(tmp_path: Path):
    """The PAYE contract with markup in its title, description and a column description."""
    text = (CONTRACTS_DIR / "hmrc" / "paye_income.yaml").read_text(encoding="utf-8")
    document = yaml.safe_load(text)
    document["name"] = HOSTILE
    document["schema"][0]["description"] = HOSTILE
    document["schema"][0]["properties"][0]["description"] = HOSTILE
    path = tmp_path / "contracts" / "hmrc" / "paye_income.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return load_contract(path, check_location=False)


def _node(name, schema, ups, meta=None, columns=None, macros=(), code=""):
    return {
        "resource_type": "model",
        "name": name,
        "alias": name,
        "schema": schema,
        "description": f"The {name} model.",
        "config": {"meta": meta or {}},
        "columns": {c: {"name": c, "description": d} for c, d in (columns or {}).items()},
        "depends_on": {"nodes": list(ups), "macros": list(macros)},
        "raw_code": code,
    }


def manifest(contract) -> dict:
    suppress = (
        "{% set counts = ['people'] %}\nwith t as (select 1)\n"
        "{{ suppress_small_counts('t', counts, 'band', 'is_total', threshold=7) }}"
    )
    return {
        "sources": {
            "source.cg.hmrc.paye_income": {
                "resource_type": "source",
                "name": "paye_income",
                "schema": "raw",
                "identifier": contract.raw_table,
                "columns": {},
            }
        },
        "nodes": {
            "model.cg.stg": _node(
                "stg_hmrc__paye_income",
                "staging",
                ["source.cg.hmrc.paye_income"],
                {"contract_id": contract.id},
            ),
            "model.cg.income": _node(
                "income",
                "conformed",
                ["model.cg.stg"],
                {"department": "hmrc"},
                {"gross_pay": "Gross pay in the spell, pounds."},
            ),
            "model.cg.bands": _node(
                "income_by_band",
                "marts_demo",
                ["model.cg.income"],
                {"owner": "analysts@example.gov.uk"},
                macros=["macro.cg.suppress_small_counts"],
                code=suppress,
            ),
        },
    }


def write_warehouse(data_dir: Path, contract) -> None:
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    for schema in ("raw", "staging", "conformed", "marts_demo", "governance", "quarantine"):
        con.execute(f"create schema {schema}")
    columns = ", ".join(f"{c.name} varchar" for c in contract.columns)
    con.execute(f"create table raw.{contract.raw_table} ({columns})")
    con.execute(f"create table quarantine.{contract.raw_table} (raw_text varchar)")
    con.execute(
        "create table staging.stg_hmrc__paye_income "
        "(record_id varchar, nino varchar, gross_pay decimal(18, 2))"
    )
    con.execute(
        "create table conformed.income (person_key varchar, gross_pay decimal(18, 2), band varchar)"
    )
    con.execute("insert into conformed.income values ('k1', 10.5, 'A'), ('k2', 20, 'B')")
    con.execute(f"comment on column conformed.income.band is '{HOSTILE.replace(chr(39), '')}'")
    con.execute("create table marts_demo.income_by_band (band varchar, people bigint)")
    for name in ("quality_results", "quality_scorecard", "quality_declarations"):
        governance.ensure(con, name)
    for i, (run, at) in enumerate(RUNS):
        last = i == len(RUNS) - 1
        for offset, check, severity, ok, percent in [
            (timedelta(0), "gross_pay_non_negative", "ERROR", True, 0.0),
            (timedelta(seconds=2), "gross_pay_recorded", "WARN", not last, 0.3 if last else 0.0),
        ]:
            con.execute(
                "insert into governance.quality_results values "
                "(?, ?, 'conformed.income', ?, 'validity', ?, ?, 1000, ?, ?, ?, null)",
                [run, at + offset, check, severity, ok, int(percent * 10), percent, f"{percent}%"],
            )
    con.execute(
        "insert into governance.quality_scorecard values ('conformed.income', 'validity', 2, 1,"
        " 0, 99.85, 98.0, true, 'run-c', '2025-12-03 06:00:00')"
    )
    con.execute(
        "insert into governance.quality_declarations values "
        "('conformed.income', true, ?, '2025-12-03 06:00:00')",
        [DECLARATION],
    )
    con.execute(
        "create table governance.column_lineage (asset varchar, dataset varchar, "
        "column_name varchar, upstream_asset varchar, upstream_dataset varchar, "
        "upstream_column varchar, kind varchar, run_id varchar, recorded_at timestamp)"
    )
    for row in [
        ("conformed.income", "gross_pay", "staging.stg_hmrc__paye_income", "gross_pay", "direct"),
        ("conformed.income", "person_key", "staging.stg_hmrc__paye_income", "nino", "masked"),
        (
            "staging.stg_hmrc__paye_income",
            "gross_pay",
            "raw.hmrc__paye_income",
            "gross_pay",
            "derived",
        ),
        ("marts_demo.income_by_band", "people", "conformed.income", "person_key", "aggregated"),
    ]:
        con.execute(
            "insert into governance.column_lineage values "
            "(?, ?, ?, ?, ?, ?, ?, 'run-c', '2025-12-03 06:00:00')",
            [row[0].replace(".", "/"), row[0], row[1], row[2].replace(".", "/"), *row[2:]],
        )
    con.execute(
        "create table governance.data_maturity (department varchar, level integer, "
        "criteria_met integer, criteria_total integer, evidence json, assessed_at timestamp, "
        "run_id varchar)"
    )
    evidence = {
        "level_name": "Learning",
        "next_level_needs": ["Quality targets met: 1 dimension below target"],
        "criteria": [
            {
                "criterion": "contracts_present",
                "title": "Contracts present",
                "level": 1,
                "applicable": True,
                "met": True,
                "detail": HOSTILE,
            },
            {
                "criterion": "opt_outs_applied",
                "title": "Opt-outs applied",
                "level": 5,
                "applicable": False,
                "met": True,
                "detail": "no health data",
            },
        ],
    }
    con.execute(
        "insert into governance.data_maturity values ('hmrc', 3, 7, 9, ?, "
        "'2025-12-03 06:00:00', 'run-c')",
        [json.dumps(evidence)],
    )
    con.execute(
        "create table governance.catalogue (identifier varchar, title varchar, dataset varchar,"
        " entry json, modified date, run_id varchar, recorded_at timestamp)"
    )
    con.execute(
        "insert into governance.catalogue values ('urn:cg:dataset:conformed.income', "
        "'PAYE income', 'conformed.income', '{\"title\": \"PAYE income\"}', '2025-12-03', "
        "'run-c', '2025-12-03 06:00:00')"
    )
    con.close()
    entries = data_dir / "catalogue" / "entries"
    entries.mkdir(parents=True)
    (entries / "conformed.income.json").write_text('{"title": "PAYE income"}\n')
    published = data_dir / "published"
    published.mkdir()
    with duckdb.connect(str(published / "analytics.duckdb")) as snapshot:
        snapshot.execute("create schema conformed")
        snapshot.execute("create table conformed.income (person_key varchar)")
        snapshot.execute("create schema governance")
        snapshot.execute(governance.table("publication").ddl())
        snapshot.execute(
            "insert into governance.publication values ('run-c', '2025-12-03 06:30:00', 2)"
        )


def write_agreements(folder: Path) -> Path:
    folder.mkdir()
    base = {"consumer": "Analysts", "purpose": "Research.", "legal_basis": "DEA 2017 s.64"}
    share = {**base, "expires": "2030-01-01", "datasets": {"conformed.income": ["gross_pay"]}}
    old = {**base, "expires": "2020-01-01", "datasets": {"conformed.income": ["band"]}}
    (folder / "share-income.yaml").write_text(yaml.safe_dump(share))
    (folder / "old-pilot.yaml").write_text(yaml.safe_dump(old))
    (folder / "broken.yaml").write_text("consumer: nobody\n")
    return folder


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """The inputs: data directory, contract, manifest and agreements folder."""
    root = tmp_path_factory.mktemp("portal")
    contract = hostile_contract(root)
    data_dir = root / "data"
    data_dir.mkdir()
    write_warehouse(data_dir, contract)
    manifest_path = root / "manifest.json"
    manifest_path.write_text(json.dumps(manifest(contract)), encoding="utf-8")
    return data_dir, contract, manifest_path, write_agreements(root / "agreements")


def build(sources, out_dir: Path):
    data_dir, contract, manifest_path, agreements = sources
    return build_portal(
        data_dir,
        out_dir,
        contracts=[contract],
        manifest_path=manifest_path,
        agreements_dir=agreements,
        asset_parents={
            "governance/quality_results": ["conformed/income"],
            "governance/portal": ["governance/quality_results"],
        },
        today=TODAY,
    )


@pytest.fixture(scope="module")
def portal(sources, tmp_path_factory) -> Path:
    return build(sources, tmp_path_factory.mktemp("out") / "portal").path


def read(portal: Path, relative: str) -> str:
    return (portal / relative).read_text(encoding="utf-8")


def dataset_page(portal: Path, dataset: str) -> str:
    return read(portal, f"datasets/{file_name(dataset)}")


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text of each script element."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._in = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in = tag if tag in {"script", "style"} else None
        if self._in:
            (self.scripts if tag == "script" else self.styles).append("")

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in == "script":
            self.scripts[-1] += data
        elif self._in == "style":
            self.styles[-1] += data


def test_every_table_gets_a_page_but_quarantine(portal):
    pages = {p.relative_to(portal).as_posix() for p in portal.rglob("*.html")}
    for dataset in [
        "raw.hmrc__paye_income",
        "staging.stg_hmrc__paye_income",
        "conformed.income",
        "marts_demo.income_by_band",
        "governance.quality_results",
    ]:
        assert f"datasets/{dataset}.html" in pages
    assert not any("quarantine" in p for p in pages)
    assert {"index.html", "agreements.html", "quality/index.html"} <= pages
    assert "quality/conformed.income.html" in pages
    assert "departments/hmrc.html" in pages


def test_hostile_contract_text_is_shown_as_text_never_as_markup(portal):
    raw = dataset_page(portal, "raw.hmrc__paye_income")
    assert "&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt;" in raw
    for page in portal.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        parsed = Elements(text)
        assert "<img" not in text, page
        assert not any(t == "img" for t, _ in parsed.tags), page
        handlers = [(t, a) for t, a in parsed.tags if any(k.startswith("on") for k in a)]
        assert not handlers, (page, handlers)
        assert 'alert("owned")</script>' not in text, page


def test_declaration_markdown_is_rendered_safely(portal):
    page = dataset_page(portal, "conformed.income")
    section = page[page.index('id="declaration"') :]
    assert "<h3>Quality declaration: conformed.income</h3>" in section
    assert "<strong>gross_pay_non_negative</strong>" in section
    assert "<td>99.85%</td>" in section
    assert "&lt;script&gt;" in section and "javascript:" not in re.findall(r'href="[^"]*"', page)
    assert "tracker.example" not in "".join(re.findall(r'(?:href|src)="[^"]*"', page))
    assert "ERROR: blocks downstream assets and publishing when it fails" in section


def test_pages_fetch_nothing_and_only_their_own_script_runs(portal):
    for page in portal.rglob("*.html"):
        parsed = Elements(page.read_text(encoding="utf-8"))
        for _, attributes in parsed.tags:
            for key in ("href", "src", "action", "xlink:href"):
                value = attributes.get(key) or ""
                assert not re.match(r"^([a-z]+:|//)", value, re.IGNORECASE), (page, value)
        policy = next(a["content"] for t, a in parsed.tags if a.get("http-equiv"))
        assert "default-src 'none'" in policy
        for body in parsed.styles:
            assert _hash(body) in policy, page
        executable = [
            s
            for s, (_, a) in zip(
                parsed.scripts, [x for x in parsed.tags if x[0] == "script"], strict=True
            )
            if a.get("type") != "application/json"
        ]
        for body in executable:
            assert _hash(body) in policy, page
        assert (page.name == "index.html" and page.parent == portal) == bool(executable)


def _hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def test_search_index_lists_datasets_and_columns_with_links(portal):
    parsed = Elements(read(portal, "index.html"))
    index = json.loads(parsed.scripts[0])
    columns = {(e["d"], e["n"]): e for e in index if e["k"] == "column"}
    assert columns[("conformed.income", "gross_pay")]["u"] == (
        "datasets/conformed.income.html#col-gross_pay"
    )
    assert any(e["k"] == "dataset" and e["n"] == "marts_demo.income_by_band" for e in index)
    assert 'id="col-gross_pay"' in dataset_page(portal, "conformed.income")


def test_the_same_inputs_give_the_same_files(sources, portal, tmp_path):
    again = build(sources, tmp_path / "portal").path
    first = {p.relative_to(portal): p.read_bytes() for p in portal.rglob("*") if p.is_file()}
    second = {p.relative_to(again): p.read_bytes() for p in again.rglob("*") if p.is_file()}
    assert first == second
    build(sources, tmp_path / "portal")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["portal"]


def test_lineage_runs_from_the_landing_folder_to_the_mart(portal):
    page = dataset_page(portal, "conformed.income")
    lineage = page[
        page.index('class="lineage"') : page.index("</svg>", page.index('class="lineage"'))
    ]
    assert 'href="../datasets/staging.stg_hmrc__paye_income.html"' in lineage
    assert 'href="../datasets/raw.hmrc__paye_income.html"' in lineage
    assert 'data-node="landing:landing/hmrc/paye_income"' in lineage
    assert 'href="../datasets/marts_demo.income_by_band.html"' in lineage
    assert 'data-node="governance.quality_results"' in lineage
    assert "governance/portal" not in page


def test_column_lineage_and_classification_follow_the_recorded_lineage(portal):
    page = dataset_page(portal, "conformed.income")
    assert 'class="column-lineage"' in page and "masked" in page
    row = page[page.index('id="col-person_key"') :].split("</tr>")[0]
    assert "personal" in row and "column lineage: staging.stg_hmrc__paye_income.nino" in row
    staging = dataset_page(portal, "staging.stg_hmrc__paye_income")
    nino = staging[staging.index('id="col-nino"') :].split("</tr>")[0]
    assert "personal" in nino and "column nino" in nino
    band = page[page.index('id="col-band"') :].split("</tr>")[0]
    assert "<td>&lt;script&gt;alert(&quot;owned&quot;)" in band  # its warehouse comment


def test_without_a_column_lineage_table_the_page_says_so(sources, tmp_path):
    data_dir, contract, manifest_path, agreements = sources
    copy = tmp_path / "data"
    copy.mkdir()
    (copy / "warehouse.duckdb").write_bytes((data_dir / "warehouse.duckdb").read_bytes())
    with duckdb.connect(str(copy / "warehouse.duckdb")) as con:
        con.execute("drop table governance.column_lineage")
        con.execute("drop table governance.data_maturity")
    out = build((copy, contract, manifest_path, agreements), tmp_path / "portal").path
    assert "No column lineage recorded" in dataset_page(out, "conformed.income")
    assert "No maturity assessment recorded" in read(out, "departments/hmrc.html")


def test_quality_page_has_every_check_and_a_point_per_run(portal):
    page = read(portal, "quality/conformed.income.html")
    assert page.count('class="run-point') == len(RUNS)
    assert f'data-points="{len(RUNS)}"' in page
    assert "gross_pay_recorded" in page and "WARN: recorded; does not block" in page
    assert "FAILED" in page
    history = page[page.index('class="history"') :].split("</thead>")[0]
    assert history.count("<th ") == 1 + len(RUNS)  # a column per run, however long it took
    assert "2025-12-01 06:00 (run-a)" in history and "2025-12-03 06:00 (run-c)" in history


def test_scorecard_says_why_a_target_is_met(portal):
    page = dataset_page(portal, "conformed.income")
    assert "met: 99.85% ≥ 98% target" in page
    assert "WARN-only check(s) failed (gross_pay_recorded)" in page


def _result(name, severity, success, percent=None, error=None):
    return CheckResult(
        "d",
        name,
        "validity",
        severity,
        success,
        100,
        None,
        percent,
        None,
        error,
        "r",
        datetime(2025, 1, 1),
    )


def test_target_reasons():
    row = ScorecardRow("d", "validity", 2, 1, 0, 99.7, 98.0, True)
    warned = [_result("a", "ERROR", True, 0.0), _result("b", "WARN", False, 0.6)]
    assert target_reason(row, warned).startswith("met: 99.7% ≥ 98% target. WARN-only")
    blocked = [_result("a", "ERROR", False, 0.6), _result("b", "WARN", True, 0.0)]
    assert "blocks downstream assets and publishing" in target_reason(row, blocked)
    below = ScorecardRow("d", "validity", 1, 0, 0, 90.0, 98.0, False)
    assert target_reason(below, []) == "not met: 90% < 98% target"
    untargeted = ScorecardRow("d", "validity", 3, 3, 0, 100.0, None, True)
    assert target_reason(untargeted, []).startswith("met: all 3 check(s) passed")
    errored = ScorecardRow("d", "validity", 1, 0, 1, None, 98.0, False)
    assert target_reason(errored, []).startswith("not met: 1 check(s) could not be evaluated")


def test_disclosure_control_names_the_suppressed_table_and_threshold(portal):
    mart = dataset_page(portal, "marts_demo.income_by_band")
    assert "every count from 1 to 6 is suppressed (threshold 7" in mart
    assert "<dd>people</dd>" in mart
    income = dataset_page(portal, "conformed.income")
    assert "unsuppressed input of marts_demo.income_by_band" in income
    index = read(portal, "index.html")
    disclosure = index[index.index('id="disclosure"') :]
    assert "marts_demo.income_by_band" in disclosure and "<td>7</td>" in disclosure
    assert THRESHOLD == 10  # the macro's default, shown when a call names no threshold


def test_sharing_agreements_that_cover_a_dataset(portal):
    page = dataset_page(portal, "conformed.income")
    section = page[page.index('id="agreements"') :]
    assert "share-income" in section and "in force" in section and "gross_pay" in section
    assert "old-pilot" in section and "expired 2020-01-01" in section
    agreements = read(portal, "agreements.html")
    assert "broken" in agreements and "Cannot be read" in agreements
    assert "No sharing agreement covers this dataset." in dataset_page(
        portal, "marts_demo.income_by_band"
    )


def test_department_page_shows_maturity_evidence_and_catalogue(portal):
    page = read(portal, "departments/hmrc.html")
    assert "3 (Learning)" in page and "7 of 9" in page
    assert "not applicable" in page and "&lt;script&gt;" in page
    assert "Quality targets met: 1 dimension below target" in page
    assert 'href="../../catalogue/entries/conformed.income.json"' in page
    income = dataset_page(portal, "conformed.income")
    assert "urn:cg:dataset:conformed.income" in income
    assert "Owner" in income and "rti-data@hmrc.example.gov.uk" in income


def test_published_and_contract_facts(portal):
    income = dataset_page(portal, "conformed.income")
    assert "In the published snapshot analysts query." in income
    assert "urn:commonground:hmrc:paye_income v1.0.0" in income
    raw = dataset_page(portal, "raw.hmrc__paye_income")
    assert "Never published" in raw and "version 1.0.0" in raw
    assert "published snapshot from run run-c" in raw


def test_markdown_subset_escapes_html_and_drops_links_and_images():
    html = markdown_html("# Title\n\n<b>x</b> [a](javascript:alert(1)) ![i](http://x/i.png)")
    assert html.startswith("<h3>Title</h3>")
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert "<a " not in html and "<img" not in html


def test_file_names_cannot_leave_the_portal():
    assert file_name("conformed.income") == "conformed.income.html"
    for hostile in ["../etc/passwd", "a/b", ".hidden", "x y"]:
        name = file_name(hostile)
        assert "/" not in name and not name.startswith(".") and name.endswith(".html")
    assert file_name("a/b") != file_name("a_b")


def test_the_asset_writes_the_portal_after_what_it_reads():
    from orchestration.defs.governance.portal import PORTAL_KEY, portal

    deps = {k.to_user_string() for k in portal.asset_deps[PORTAL_KEY]}
    assert {
        "published/analytics",
        "governance/quality_results",
        "governance/quality_scorecard",
        "governance/quality_declarations",
        "governance/column_lineage",
    } <= deps
    assert portal.group_names_by_key[PORTAL_KEY] == "governance"
