"""Files are hashed once: a run with nothing new reads no landing file and no unchanged source
file, while a file changed in any way is hashed (and loaded) again."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import duckdb
import pytest

from orchestration import runner, state
from orchestration.defs.ingest.sensors import scan_landing
from orchestration.ingest import ingest_dataset, landing_hashes
from orchestration.ingest import landing as lz
from orchestration.state import DigestCache

HEADER = (
    "RECORD_ID,NINO,FORENAMES,SURNAME,DATE_OF_BIRTH,POSTCODE,EMPLOYER_PAYE_REF,TAX_YEAR,"
    "PERIOD_START,PERIOD_END,GROSS_PAY,TAX_DEDUCTED"
)
ROW = (
    "P{n},AB123456C,JOHN,SMITH,01/02/1980,LS1 4AB,123/AB45678,2025-26,06/04/2025,05/04/2026,"
    "£9.00,£1.00"
)


@pytest.fixture
def hashed(monkeypatch) -> list[str]:
    """The name of every landing file read to hash it, in order."""
    names: list[str] = []
    real = lz.file_sha256

    def counting(path: Path) -> str:
        names.append(path.name)
        return real(path)

    monkeypatch.setattr(lz, "file_sha256", counting)
    return names


@pytest.fixture
def settled(monkeypatch) -> None:
    """Deliveries are hashed well after they were written (no file changes within the file
    system clock's tick of its hashing), as when departments deliver before a run."""
    monkeypatch.setattr(state, "RACY_NANOSECONDS", 0)


def _deliver(tmp_path: Path, name: str, records: range) -> Path:
    folder = tmp_path / "landing" / "hmrc" / "paye_income"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join([HEADER, *(ROW.format(n=n) for n in records)]) + "\n")
    return path


def _run(tmp_path: Path, contract, run_id: str):
    """The ingest of one dataset as a pipeline run does it: the landing files' digests are
    read from the data directory's state, used, and saved for the next run."""
    landing = tmp_path / "landing"
    hashes = landing_hashes(tmp_path / "state", landing)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        outcomes = ingest_dataset(con, contract, landing, run_id, hashes)
    hashes.save()
    return outcomes


def _raw_records(tmp_path: Path) -> list[tuple]:
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(
            "select record_id, _batch_id from raw.hmrc__paye_income order by all"
        ).fetchall()


def test_a_second_run_rehashes_no_unchanged_file(tmp_path, contracts, hashed, settled):
    _deliver(tmp_path, "a.csv", range(1, 3))
    _deliver(tmp_path, "b.csv", range(3, 5))
    first = _run(tmp_path, contracts["hmrc__paye_income"], "run-1")
    assert [o.status for o in first] == ["loaded", "loaded"]
    assert sorted(hashed) == ["a.csv", "b.csv"]  # each once, while it was read

    hashed.clear()
    assert _run(tmp_path, contracts["hmrc__paye_income"], "run-2") == []
    assert hashed == []
    assert len(_raw_records(tmp_path)) == 4


def test_a_file_rewritten_in_place_is_hashed_and_loaded_again(tmp_path, contracts, hashed, settled):
    delivery = _deliver(tmp_path, "a.csv", range(1, 3))
    _deliver(tmp_path, "b.csv", range(3, 5))
    _run(tmp_path, contracts["hmrc__paye_income"], "run-1")
    before = delivery.stat()

    # New bytes, the same size, and the old modification time put back (as `cp -p` or
    # `rsync -t` would): only the change time tells.
    delivery.write_text(delivery.read_text().replace("P1,", "P7,"))
    os.utime(delivery, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (delivery.stat().st_size, delivery.stat().st_mtime_ns) == (
        before.st_size,
        before.st_mtime_ns,
    )
    hashed.clear()
    outcomes = _run(tmp_path, contracts["hmrc__paye_income"], "run-2")

    assert hashed == ["a.csv"]
    assert [(o.file_path, o.status) for o in outcomes] == [("hmrc/paye_income/a.csv", "loaded")]
    assert ("P7", "run-2") in _raw_records(tmp_path)


@pytest.mark.parametrize(
    "damage",
    [b'{"format": 1, "files": {"hmrc/pay', b"\xff\xfe", b"[]", b'{"format": 99, "files": {}}'],
    ids=["truncated", "not-utf8", "not-an-object", "unknown-format"],
)
def test_a_damaged_digest_file_is_ignored_with_a_warning(
    tmp_path, contracts, hashed, settled, caplog, damage
):
    _deliver(tmp_path, "a.csv", range(1, 3))
    _run(tmp_path, contracts["hmrc__paye_income"], "run-1")
    digests = tmp_path / "state" / lz.HASHES_FILE
    digests.write_bytes(damage)

    hashed.clear()
    with caplog.at_level(logging.WARNING):
        assert _run(tmp_path, contracts["hmrc__paye_income"], "run-2") == []
    assert hashed == ["a.csv"]  # hashed again, not trusted: and still known, not reloaded
    assert any(str(digests) in r.getMessage() for r in caplog.records)
    assert len(_raw_records(tmp_path)) == 2

    hashed.clear()
    _run(tmp_path, contracts["hmrc__paye_income"], "run-3")
    assert hashed == []  # the second run wrote the digests again


def test_a_damaged_entry_is_hashed_again_and_the_others_still_trusted(
    tmp_path, contracts, hashed, settled, caplog
):
    _deliver(tmp_path, "a.csv", range(1, 3))
    _deliver(tmp_path, "b.csv", range(3, 5))
    _run(tmp_path, contracts["hmrc__paye_income"], "run-1")
    digests = tmp_path / "state" / lz.HASHES_FILE
    stored = json.loads(digests.read_text())
    stored["files"]["hmrc/paye_income/a.csv"][4] = "not a digest"
    digests.write_text(json.dumps(stored))

    hashed.clear()
    with caplog.at_level(logging.WARNING):
        _run(tmp_path, contracts["hmrc__paye_income"], "run-2")
    assert hashed == ["a.csv"]
    assert any("damaged entries" in r.getMessage() for r in caplog.records)


def test_a_digest_taken_within_the_clock_tick_of_a_change_is_not_trusted(tmp_path):
    file = tmp_path / "delivery.csv"
    file.write_text("RECORD_ID\nP1\n")
    reads = []

    def hasher(path: Path) -> str:
        reads.append(path.name)
        return state.sha256_of_file(path)

    def digest() -> str:
        cache = DigestCache(tmp_path / "digests.json", tmp_path, hasher)
        sha = cache.sha256(file)
        cache.save()
        return sha

    first = digest()
    # Hashed within two seconds of being written: another write in the same tick of the
    # file system's clock would not change its stat, so the digest is not trusted yet.
    assert digest() == first
    assert reads == ["delivery.csv", "delivery.csv"]


def test_the_sensor_reuses_the_digests_a_run_remembered(tmp_path, contracts, hashed, settled):
    _deliver(tmp_path, "a.csv", range(1, 3))
    _run(tmp_path, contracts["hmrc__paye_income"], "run-1")
    hashed.clear()
    landing = tmp_path / "landing"
    paye = [contracts["hmrc__paye_income"]]
    seen, ready = scan_landing(paye, landing, {}, landing_hashes(tmp_path / "state", landing))
    assert ready == []  # seen once: waits for a stable size
    seen, ready = scan_landing(paye, landing, seen, landing_hashes(tmp_path / "state", landing))
    assert [r.path for r in ready] == ["hmrc/paye_income/a.csv"]
    assert ready[0].sha256 == state.sha256_of_file(landing / "hmrc" / "paye_income" / "a.csv")
    assert hashed == []


def _source_tree(root: Path) -> list[Path]:
    files = [
        root / "orchestration" / "a.py",
        root / "orchestration" / "pkg" / "b.py",
        root / "expectations" / "contracts" / "x" / "y.yaml",
    ]
    for i, path in enumerate(files):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"source {i}\n")
    return files


def test_the_code_fingerprint_reads_only_changed_sources(tmp_path, monkeypatch, settled):
    files = _source_tree(tmp_path / "repo")
    monkeypatch.setattr(runner, "REPO_ROOT", tmp_path / "repo")
    monkeypatch.setattr(runner, "read_manifest", lambda: {"nodes": {"model.x": {}}})
    reads: list[str] = []

    def counting(path: Path) -> str:
        reads.append(path.name)
        return hashlib_of(path)

    hashlib_of = state.sha256_of_file
    monkeypatch.setattr(state, "sha256_of_file", counting)
    state_dir = tmp_path / "data" / "state"

    first = runner.code_fingerprint(state_dir)
    assert sorted(reads) == ["a.py", "b.py", "y.yaml"]
    reads.clear()
    assert runner.code_fingerprint(state_dir) == first
    assert reads == []

    edited = files[1]
    stat = edited.stat()
    edited.write_text("source 9\n")  # the same size and modification time
    os.utime(edited, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    changed = runner.code_fingerprint(state_dir)
    assert reads == ["b.py"]
    assert changed != first
