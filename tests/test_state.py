"""State files survive a crash mid-write, and damaged ones are rebuilt, not fatal."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time

import pytest

from orchestration import state
from orchestration.linkage.model import save_model
from orchestration.runner import load_last_build
from orchestration.state import read_digest, remove_dead_publish_temps, write_atomically


def test_a_write_replaces_the_file_whole(tmp_path):
    path = tmp_path / "state" / "last_build.json"
    write_atomically(path, '{"fingerprint": "a"}')
    write_atomically(path, '{"fingerprint": "b"}')
    assert json.loads(path.read_text()) == {"fingerprint": "b"}
    assert [p.name for p in path.parent.iterdir()] == ["last_build.json"]


def test_a_write_killed_before_the_rename_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "last_build.json"
    write_atomically(path, '{"fingerprint": "old"}')

    def killed(src, dst):
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(state.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(path, '{"fingerprint": "new", "run_id": "x"}')
    assert json.loads(path.read_text()) == {"fingerprint": "old"}
    assert [p.name for p in tmp_path.iterdir()] == ["last_build.json"]


def test_a_linkage_model_is_never_left_half_written(tmp_path, monkeypatch):
    def failed(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(state.os, "replace", failed)
    with pytest.raises(OSError, match="rename failed"):
        save_model({"comparisons": []}, tmp_path)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    saved = save_model({"comparisons": []}, tmp_path)
    assert json.loads(saved.read_text()) == {"comparisons": []}


@pytest.mark.parametrize(
    "damage", [b'{"fingerprint": "ab', b"", b"\xff\xfe\x00", b"[1, 2]"], ids=str
)
def test_a_damaged_build_record_means_a_full_rebuild_with_a_warning(tmp_path, caplog, damage):
    path = tmp_path / "last_build.json"
    path.write_bytes(damage)
    with caplog.at_level(logging.WARNING):
        previous = load_last_build(path)
    assert previous == {}  # no fingerprint to match: everything is rebuilt
    assert any(str(path) in r.getMessage() for r in caplog.records)


def test_a_missing_build_record_is_simply_absent(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        assert load_last_build(tmp_path / "last_build.json") == {}
    assert not caplog.records


@pytest.mark.parametrize("damage", [b"3f2a", b"\xff\xfe", b"z" * 64], ids=str)
def test_a_damaged_parse_stamp_is_absent_with_a_warning(tmp_path, caplog, damage):
    stamp = tmp_path / "commonground_parse_inputs.sha256"
    stamp.write_bytes(damage)
    with caplog.at_level(logging.WARNING):
        assert read_digest(stamp) is None
    assert any(str(stamp) in r.getMessage() for r in caplog.records)
    digest = "ab" * 32
    write_atomically(stamp, digest + "\n")
    assert read_digest(stamp) == digest


def _age(path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_publish_temp_files_of_dead_runs_are_removed(tmp_path):
    published = tmp_path / "published"
    published.mkdir()
    snapshot = published / "analytics.duckdb"
    snapshot.write_bytes(b"the published snapshot")
    dead = published / ".analytics.duckdb.deadrun.tmp"
    dead_wal = published / ".analytics.duckdb.deadrun.tmp.wal"
    orphan_wal = published / ".analytics.duckdb.otherrun.tmp.wal"
    fresh = published / ".analytics.duckdb.liverun.tmp"
    for path in (dead, dead_wal, orphan_wal, fresh):
        path.write_bytes(b"partial")
    for path in (dead, dead_wal, orphan_wal, snapshot):
        _age(path, 3600)

    removed = remove_dead_publish_temps(published, started_before=time.time())

    assert sorted(removed) == sorted([dead, dead_wal, orphan_wal])
    assert sorted(p.name for p in published.iterdir()) == sorted([snapshot.name, fresh.name])


def test_a_publish_temp_file_locked_by_a_live_run_is_kept(tmp_path):
    published = tmp_path / "published"
    published.mkdir()
    live = published / ".analytics.duckdb.liverun.tmp"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time\n"
            f"con = duckdb.connect({str(live)!r})\n"
            "con.execute('create table t as select 1 as x')\n"
            "print('locked', flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        _age(live, 3600)
        assert remove_dead_publish_temps(published, started_before=time.time()) == []
        assert live.exists()
    finally:
        holder.kill()
        holder.wait()
    assert remove_dead_publish_temps(published, started_before=time.time()) != []
    assert not live.exists()


def test_a_run_clears_dead_publish_temp_files_before_it_starts(data_dir, monkeypatch):
    from orchestration import runner

    published = data_dir / "published"
    published.mkdir()
    dead = published / ".analytics.duckdb.deadrun.tmp"
    dead.write_bytes(b"partial")
    _age(dead, 3600)

    class Stop(Exception):
        pass

    def stop(force: bool = False):
        raise Stop

    monkeypatch.setattr(runner, "ensure_manifest", stop)
    with pytest.raises(Stop):
        runner.run_everything()
    assert not dead.exists()
