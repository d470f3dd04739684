"""The landing-zone sensor: stable new files start one run each, keyed by their SHA-256."""

from __future__ import annotations

import hashlib
import json
import os

import dagster as dg
import pytest

from orchestration.definitions import defs as load_defs
from orchestration.defs.ingest.sensors import SENSOR_NAME

pytestmark = pytest.mark.xdist_group("dbt_project")


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return load_defs()


def _tick(defs, instance, cursor):
    sensor = defs.resolve_sensor_def(SENSOR_NAME)
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        repository_def=defs.get_repository_def(),
    )
    result = sensor.evaluate_tick(context)
    return result.run_requests or [], result.cursor


def test_a_stable_new_file_starts_one_run_through_to_the_marts(defs, data_dir):
    folder = data_dir / "landing" / "hmrc" / "paye_income"
    folder.mkdir(parents=True)
    delivery = folder / "paye.csv"
    delivery.write_text("RECORD_ID\nP1\n")
    (folder / "paye2.csv.part").write_text("still uploading")
    sha = hashlib.sha256(delivery.read_bytes()).hexdigest()
    with dg.DagsterInstance.ephemeral() as instance:
        requests, cursor = _tick(defs, instance, None)
        assert requests == []  # seen once: wait until its size is stable
        requests, cursor = _tick(defs, instance, cursor)
        assert len(requests) == 1
        request = requests[0]
        assert request.run_key == sha
        keys = {k.to_user_string() for k in request.asset_selection}
        assert "raw/hmrc__paye_income" in keys
        assert "staging/stg_hmrc__paye_income" in keys
        assert "conformed/income" in keys
        assert "marts/benefit_income_overlaps" in keys
        assert "raw/dwp__benefit_awards" not in keys
        assert ".part" not in request.tags["commonground/files"]

        requests, cursor = _tick(defs, instance, cursor)
        assert requests == []  # nothing new

        delivery.write_text("RECORD_ID\nP1\nP2\n")
        os.utime(delivery, ns=(1, 1))
        requests, cursor = _tick(defs, instance, cursor)
        assert requests == []
        requests, cursor = _tick(defs, instance, cursor)
        assert [r.run_key for r in requests] == [hashlib.sha256(delivery.read_bytes()).hexdigest()]
        assert json.loads(cursor)["seen"]["hmrc/paye_income/paye.csv"][2] == requests[0].run_key
