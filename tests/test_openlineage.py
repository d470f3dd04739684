"""OpenLineage events: every run tells a lineage catalogue what it built, once, in the spec's
shape, and never gives the receiver's API key away.

Runs really execute in a temporary Dagster instance; the receiver is a real HTTP server on
127.0.0.1; events are checked against the OpenLineage JSON schemas. openlineage-python does
not ship them, so ``tests/data/openlineage`` holds the spec's files (Apache-2.0, unchanged
from the OpenLineage repository's ``spec/``) at the versions the client's facet classes name
in their ``_schemaURL``.
"""

from __future__ import annotations

import json
import logging
import socket
import uuid
from datetime import datetime
from pathlib import Path

import dagster as dg
import jsonschema
import pytest
from dagster._core.remote_origin import RegisteredCodeLocationOrigin
from referencing import Registry, Resource

from orchestration.defs.pipeline.openlineage import (
    openlineage_on_run_failure,
    openlineage_on_run_success,
)
from orchestration.openlineage import (
    NAMESPACE,
    emit_run,
    events_dir,
    http_config,
    openlineage_run_id,
    state_dir,
)
from orchestration.settings import get_settings

SPEC_DIR = Path(__file__).parent / "data" / "openlineage"
RUN_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
API_KEY = "ol-test-key-5b1d0c2e9f"
SAMPLE = "QQ123456C"
"""A value a check saw in the data: it must not travel in lineage events."""

SOURCE = dg.AssetSpec(["landing", "people"], metadata={"dagster/table_name": "landing.people"})
STAGING_KEY = dg.AssetKey(["staging", "people"])
CONFORMED_KEY = dg.AssetKey(["conformed", "persons"])
COLUMNS = dg.TableSchema(
    columns=[
        dg.TableColumn("person_key", "varchar", description="Keyed pseudonym of the person."),
        dg.TableColumn("birth_year", "integer"),
    ]
)


@dg.asset(
    key=STAGING_KEY,
    deps=[SOURCE],
    metadata={"dagster/table_name": "warehouse.staging.people"},
    check_specs=[
        dg.AssetCheckSpec("person_key_not_null", asset=STAGING_KEY, blocking=True),
        dg.AssetCheckSpec("nino_valid", asset=STAGING_KEY),
    ],
)
def staging_people():
    """People as delivered, typed."""
    return dg.MaterializeResult(
        metadata={
            "dagster/column_schema": COLUMNS,
            "dagster/column_lineage": dg.TableColumnLineage(
                deps_by_column={
                    "person_key": [dg.TableColumnDep(SOURCE.key, "nhs_number")],
                    "birth_year": [dg.TableColumnDep(SOURCE.key, "date_of_birth")],
                }
            ),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="person_key_not_null",
                passed=True,
                severity=dg.AssetCheckSeverity.ERROR,
                description="Every person has a key.",
                metadata={"gdqf_dimension": "completeness", "element_count": 10},
            ),
            dg.AssetCheckResult(
                check_name="nino_valid",
                passed=False,
                severity=dg.AssetCheckSeverity.WARN,
                description="Every NINO is valid (2 of 10 are not).",
                metadata={
                    "gdqf_dimension": "validity",
                    "unexpected_percent": 20.0,
                    "observed_value": "20.00% unexpected",
                    "sample_values": SAMPLE,
                },
            ),
        ],
    )


@dg.asset(key=CONFORMED_KEY, deps=[STAGING_KEY])
def conformed_persons():
    """Conformed persons: fails, as a bad delivery would make it."""
    raise RuntimeError("the extract has no header row\nTraceback detail that stays out")


nightly = dg.define_asset_job("nightly", selection=[STAGING_KEY, CONFORMED_KEY])
SENSORS = (openlineage_on_run_success, openlineage_on_run_failure)
DEFINITIONS = dg.Definitions(
    assets=[SOURCE, staging_people, conformed_persons], jobs=[nightly], sensors=list(SENSORS)
)
GRAPH = DEFINITIONS.resolve_asset_graph()


@pytest.fixture(scope="module")
def spec() -> Registry:
    """The OpenLineage spec's schemas, by their ``$id``."""
    schemas = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(SPEC_DIR.glob("*.json"))]
    return Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in schemas)


def facets_of(event: dict) -> list[dict]:
    found = [*event["run"].get("facets", {}).values(), *event["job"].get("facets", {}).values()]
    for dataset in event.get("inputs", []) + event.get("outputs", []):
        for group in ("facets", "inputFacets", "outputFacets"):
            found += dataset.get(group, {}).values()
    return found


def validate(event: dict, spec: Registry) -> None:
    """Validates the event against the RunEvent schema and every facet against the schema its
    ``_schemaURL`` names (a facet whose schema is not in the spec fails)."""
    assert event["schemaURL"] == RUN_EVENT_SCHEMA
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    jsonschema.Draft202012Validator(
        {"$ref": event["schemaURL"]}, registry=spec, format_checker=checker
    ).validate(event)
    for facet in facets_of(event):
        jsonschema.Draft202012Validator(
            {"$ref": facet["_schemaURL"]}, registry=spec, format_checker=checker
        ).validate(facet)


def run_nightly(instance: dg.DagsterInstance) -> str:
    result = DEFINITIONS.resolve_job_def("nightly").execute_in_process(
        instance=instance, raise_on_error=False
    )
    assert not result.success
    return result.run_id


def events_in(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def by_asset(events: list[dict]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for event in events:
        found.setdefault(event["job"]["name"], []).append(event)
    return found


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def assert_key_nowhere(data_dir: Path, *texts: str) -> None:
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert API_KEY.encode() not in path.read_bytes(), path
    for text in texts:
        assert API_KEY not in text


def test_a_run_is_told_as_start_complete_and_fail_events_that_follow_the_spec(data_dir, spec):
    settings = get_settings()
    with dg.instance_for_test() as instance:
        run_id = run_nightly(instance)
        emission = emit_run(instance, run_id, GRAPH, settings)
        created = instance.get_run_record_by_id(run_id).create_timestamp
        step_starts = {
            r.step_key: r.timestamp
            for r in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START)
        }

    assert emission.path == events_dir(data_dir) / f"{run_id}.jsonl"
    events = events_in(emission.path)
    assert emission.events == len(events) == 4
    for event in events:
        validate(event, spec)
    assets = by_asset(events)
    assert {k: [e["eventType"] for e in v] for k, v in assets.items()} == {
        "staging/people": ["START", "COMPLETE"],
        "conformed/persons": ["START", "FAIL"],
    }

    start, complete = assets["staging/people"]
    assert start["job"]["namespace"] == NAMESPACE
    assert start["run"]["runId"] == complete["run"]["runId"]
    assert start["run"]["runId"] == openlineage_run_id(run_id, STAGING_KEY, created)
    assert uuid.UUID(start["run"]["runId"]) != uuid.UUID(
        assets["conformed/persons"][0]["run"]["runId"]
    )
    assert datetime.fromisoformat(start["eventTime"]).timestamp() == pytest.approx(
        step_starts["staging__people"], abs=1e-3
    )
    assert start["eventTime"] < complete["eventTime"]
    parent = complete["run"]["facets"]["parent"]
    assert (parent["run"]["runId"], parent["job"]["name"]) == (run_id, "nightly")

    namespace = f"duckdb://{settings.warehouse_path}"
    assert [(i["namespace"], i["name"]) for i in complete["inputs"]] == [
        (namespace, "landing.people")
    ]
    (output,) = complete["outputs"]
    assert (output["namespace"], output["name"]) == (namespace, "staging.people")
    facets = output["facets"]
    assert [(f["name"], f["type"]) for f in facets["schema"]["fields"]] == [
        ("person_key", "varchar"),
        ("birth_year", "integer"),
    ]
    assert facets["columnLineage"]["fields"]["person_key"]["inputFields"] == [
        {
            "namespace": namespace,
            "name": "landing.people",
            "field": "nhs_number",
            "transformations": [],
        }
    ]
    assertions = {a["name"]: a for a in facets["dataQualityAssertions"]["assertions"]}
    assert assertions["person_key_not_null"] | {"params": None} == {
        "assertion": "completeness",
        "success": True,
        "severity": "error",
        "name": "person_key_not_null",
        "description": "Every person has a key.",
        "params": None,
    }
    invalid = assertions["nino_valid"]
    assert (invalid["assertion"], invalid["success"], invalid["severity"]) == (
        "validity",
        False,
        "warn",
    )
    assert invalid["actual"] == "20.00% unexpected"
    assert invalid["params"] == {"gdqf_dimension": "validity", "unexpected_percent": 20.0}
    assert "dataQualityAssertions" not in start["outputs"][0]["facets"]
    assert SAMPLE not in emission.path.read_text(encoding="utf-8")

    failed_start, failed = assets["conformed/persons"]
    assert failed_start["run"]["runId"] == failed["run"]["runId"]
    assert [i["name"] for i in failed["inputs"]] == ["staging.people"]
    assert failed["outputs"][0]["name"] == "conformed.persons"
    error = failed["run"]["facets"]["errorMessage"]
    assert error["message"] == "RuntimeError: the extract has no header row"
    assert error["programmingLanguage"] == "python"


def test_the_validation_rejects_an_event_or_facet_off_the_spec(data_dir, spec):
    with dg.instance_for_test() as instance:
        run_id = run_nightly(instance)
        emission = emit_run(instance, run_id, GRAPH, get_settings())
    complete = next(e for e in events_in(emission.path) if e["eventType"] == "COMPLETE")
    validate(complete, spec)

    no_run_id = json.loads(json.dumps(complete))
    no_run_id["run"]["runId"] = "not-a-uuid"
    with pytest.raises(jsonschema.ValidationError):
        validate(no_run_id, spec)
    bad_assertion = json.loads(json.dumps(complete))
    del bad_assertion["outputs"][0]["facets"]["dataQualityAssertions"]["assertions"][0]["success"]
    with pytest.raises(jsonschema.ValidationError):
        validate(bad_assertion, spec)


def test_the_receiver_gets_the_same_events_with_the_key_as_a_bearer_token(
    data_dir, webhook, monkeypatch, caplog, spec
):
    base = webhook.url.split("/services/")[0]
    monkeypatch.setenv("COMMONGROUND_OPENLINEAGE_URL", base)
    monkeypatch.setenv("COMMONGROUND_OPENLINEAGE_API_KEY", API_KEY)
    caplog.set_level(logging.DEBUG)
    settings = get_settings()
    with dg.instance_for_test() as instance:
        run_id = run_nightly(instance)
        emission = emit_run(instance, run_id, GRAPH, settings)

    assert emission.http == "delivered (4 events)"
    assert [r["path"] for r in webhook.requests] == ["/api/v1/lineage"] * 4
    assert {r["headers"]["Authorization"] for r in webhook.requests} == {f"Bearer {API_KEY}"}
    received = webhook.payloads()
    assert received == events_in(emission.path)
    for event in received:
        validate(event, spec)
    assert_key_nowhere(data_dir, caplog.text, repr(settings), repr(emission))


def test_a_receiver_that_is_down_costs_one_log_line_and_the_file_keeps_the_events(
    data_dir, monkeypatch, caplog
):
    monkeypatch.setenv("COMMONGROUND_OPENLINEAGE_URL", closed_port_url())
    monkeypatch.setenv("COMMONGROUND_OPENLINEAGE_API_KEY", API_KEY)
    with dg.instance_for_test() as instance:
        run_id = run_nightly(instance)
        caplog.clear()
        caplog.set_level(logging.DEBUG)
        emission = emit_run(instance, run_id, GRAPH, get_settings(), timeout=2)

    assert emission.error == ""
    assert emission.http.startswith("failed after 0 of 4 event(s): ConnectionError")
    assert len(events_in(emission.path)) == 4
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(problems) == 1, [r.getMessage() for r in problems]
    line = problems[0].getMessage()
    assert "\n" not in line and f"run {run_id}" in line and "took 0 of 4" in line
    assert_key_nowhere(data_dir, caplog.text)


def test_a_receiver_that_refuses_is_recorded_without_the_key(data_dir, webhook, monkeypatch):
    webhook.status = 401
    monkeypatch.setenv("COMMONGROUND_OPENLINEAGE_URL", webhook.url)
    monkeypatch.setenv("COMMONGROUND_OPENLINEAGE_API_KEY", API_KEY)
    with dg.instance_for_test() as instance:
        run_id = run_nightly(instance)
        emission = emit_run(instance, run_id, GRAPH, get_settings())

    assert len(webhook.requests) == 1  # no retries, nothing after the first refusal
    assert emission.http.startswith("failed after 0 of 4 event(s): HTTPError: 401")
    record = json.loads((state_dir(data_dir) / f"{run_id}.json").read_text(encoding="utf-8"))
    assert record["http"] == emission.http and record["events"] == 4
    assert_key_nowhere(data_dir)


def test_a_run_is_emitted_once_however_often_it_is_asked(data_dir, webhook, monkeypatch):
    monkeypatch.setenv("COMMONGROUND_OPENLINEAGE_URL", webhook.url)
    settings = get_settings()
    with dg.instance_for_test() as instance:
        run_id = run_nightly(instance)
        first = emit_run(instance, run_id, GRAPH, settings)
        written = first.path.read_bytes()
        again = emit_run(instance, run_id, GRAPH, settings)

    assert (first.events, first.already_emitted) == (4, False)
    assert (again.events, again.already_emitted, again.path) == (0, True, None)
    assert len(webhook.requests) == 4
    assert first.path.read_bytes() == written
    assert list(events_dir(data_dir).iterdir()) == [first.path]


class Daemon:
    """Evaluates the OpenLineage sensors as the daemon does: from their cursors, in a code
    location that watches every location (so runs executed in process are handed over)."""

    def __init__(self, instance: dg.DagsterInstance) -> None:
        self.instance = instance
        self.repository = DEFINITIONS.get_repository_def()
        self.cursors: dict[str, str | None] = {s.name: None for s in SENSORS}
        self.errors: list[str] = []
        """Errors the sensors raised, as Dagster records them on the tick."""
        self.tick()  # the first tick only sets the cursors

    def tick(self) -> None:
        for sensor in SENSORS:
            context = dg.SensorEvaluationContext(
                instance_ref=None,
                cursor=self.cursors[sensor.name],
                repository_name=self.repository.name,
                repository_def=self.repository,
                instance=self.instance,
                code_location_origin=RegisteredCodeLocationOrigin("commonground"),
            )
            result = sensor.evaluate_tick(context)
            self.errors += [str(r.error) for r in result.dagster_run_reactions or [] if r.error]
            self.cursors[sensor.name] = context.cursor


def test_the_sensors_emit_runs_and_never_a_run_the_runner_emitted(data_dir, webhook, monkeypatch):
    monkeypatch.setenv("COMMONGROUND_OPENLINEAGE_URL", webhook.url)
    settings = get_settings()
    with dg.instance_for_test() as instance:
        daemon = Daemon(instance)
        by_sensor = run_nightly(instance)
        daemon.tick()
        by_runner = run_nightly(instance)
        assert emit_run(instance, by_runner, GRAPH, settings).events == 4
        daemon.tick()
        daemon.tick()
        after_sensor = emit_run(instance, by_sensor, GRAPH, settings)

    assert daemon.errors == []
    assert after_sensor.already_emitted
    assert sorted(p.name for p in events_dir(data_dir).iterdir()) == sorted(
        [f"{by_sensor}.jsonl", f"{by_runner}.jsonl"]
    )
    assert len(webhook.requests) == 8
    parents = {e["run"]["facets"]["parent"]["run"]["runId"] for e in webhook.payloads()}
    assert parents == {by_sensor, by_runner}


def test_a_sensor_tick_survives_a_receiver_that_is_down_and_broken_settings(data_dir, monkeypatch):
    monkeypatch.setenv("COMMONGROUND_OPENLINEAGE_URL", closed_port_url())
    with dg.instance_for_test() as instance:
        daemon = Daemon(instance)
        reached = run_nightly(instance)
        daemon.tick()
        monkeypatch.setenv("COMMONGROUND_ENV", "production")  # no key: settings refuse
        refused = run_nightly(instance)
        daemon.tick()

    assert daemon.errors == []
    record = json.loads((state_dir(data_dir) / f"{reached}.json").read_text(encoding="utf-8"))
    assert record["events"] == 4 and record["http"].startswith("failed after 0 of 4")
    assert (events_dir(data_dir) / f"{reached}.jsonl").exists()
    assert not (state_dir(data_dir) / f"{refused}.json").exists()


def test_an_unknown_or_unfinished_run_is_not_emitted_and_not_recorded(data_dir):
    with dg.instance_for_test() as instance:
        emission = emit_run(instance, "0b5e3c1a-0000-4000-8000-000000000000", GRAPH, get_settings())
    assert "unknown" in emission.error and emission.events == 0
    assert not state_dir(data_dir).exists() or not list(state_dir(data_dir).glob("*.json"))


def test_the_receiver_url_takes_the_usual_endpoint_unless_it_names_one(data_dir, monkeypatch):
    monkeypatch.setenv("COMMONGROUND_OPENLINEAGE_URL", "https://lineage.example.org")
    config = http_config(get_settings())
    assert (config.url, config.endpoint) == ("https://lineage.example.org/", "api/v1/lineage")
    monkeypatch.setenv("COMMONGROUND_OPENLINEAGE_URL", "https://lineage.example.org/ol/events")
    config = http_config(get_settings())
    assert (config.url, config.endpoint) == ("https://lineage.example.org/", "ol/events")
    monkeypatch.setenv("COMMONGROUND_OPENLINEAGE_URL", "lineage.example.org")
    with pytest.raises(ValueError, match="COMMONGROUND_OPENLINEAGE_URL"):
        http_config(get_settings())
