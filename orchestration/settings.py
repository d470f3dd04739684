"""Runtime settings: the one place that reads the environment, lazily.

Nothing here runs at import time. Call :func:`get_settings` when a value is needed; the
result reflects the environment at that moment (tests point ``COMMONGROUND_DATA_DIR`` at a
temporary directory before materializing).
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


DEFAULT_DATA_DIR = REPO_ROOT / "data"

DEVELOPMENT_PSEUDONYM_KEY = "commonground-development-key"
"""The key used when ``COMMONGROUND_PSEUDONYM_KEY`` is unset outside production (it reaches
dbt through :meth:`Settings.dbt_env` like a real key). Pseudonyms made with it protect
nothing: anyone can recompute them."""

logger = logging.getLogger(__name__)


MIN_KEY_BYTES = 32
"""A production pseudonymisation key carries at least 256 bits of secret material."""

KEYGEN_COMMAND = "commonground keygen"

_HEX = re.compile(r"[0-9a-fA-F]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")


class MissingSecretError(RuntimeError):
    """A secret the platform needs is not set; the message names the variable to set."""


class WeakSecretError(MissingSecretError):
    """A secret is set but too weak for production; the message says how to make one."""


def is_strong_key(key: str) -> bool:
    """Whether ``key`` is strong enough to pseudonymise production data.

    The rule (256 bits of material): the key is not the public development key, not blank
    and not one character repeated; and it is 64 or more hexadecimal characters, or base64
    or base64url text that decodes to 32 or more bytes, or otherwise any text of 43 or more
    characters (as long as 256 random bits written in base64). ``commonground keygen`` makes
    one: 64 hexadecimal characters from a cryptographic random source.
    """
    if key == DEVELOPMENT_PSEUDONYM_KEY or not key.strip() or len(set(key)) == 1:
        return False
    if _HEX.fullmatch(key):
        return len(key) >= 2 * MIN_KEY_BYTES
    if _BASE64.fullmatch(key):
        text = key.replace("-", "+").replace("_", "/").rstrip("=")
        try:
            decoded = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            decoded = b""
        if len(decoded) >= MIN_KEY_BYTES:
            return True
    return len(key) >= 43


@dataclass(frozen=True)
class Settings:
    """Where Common Ground keeps its working data, and how it runs.

    Attributes:
        data_dir: Root of the working data (landing zone, warehouse, published snapshot).
        environment: ``development`` or ``production``.
        duckdb_memory_limit: DuckDB ``memory_limit`` for the pipeline's connections.
        dbt_target_dir: dbt's target folder (manifest and compiled SQL).
        pseudonym_key: Secret key of the keyed HMAC-SHA256 pseudonyms (never logged).
        pseudonym_key_is_development: True when ``pseudonym_key`` is the development key.
        dagster_home: The Dagster instance's folder (``DAGSTER_HOME``), or None for an
            ephemeral instance.
        alert_webhook_url: Where alerts are posted as JSON (a Slack-compatible incoming
            webhook), or None. It often embeds a token, so it is never logged or stored.
        writer_wait_seconds: How long a run waits for another run to stop writing the
            warehouse before it gives up.
        schedule_cron: When the daily production run starts (cron, UK time).
        sensor_interval_seconds: How often the landing-zone sensor looks for new files.
        openlineage_url: Base URL of an OpenLineage receiver (e.g. Marquez) that run events
            are posted to, besides the files under ``<data dir>/openlineage``; or None.
        openlineage_api_key: Bearer token for ``openlineage_url``, or None. A secret: never
            logged or stored.
    """

    data_dir: Path
    environment: str
    duckdb_memory_limit: str
    dbt_target_dir: Path
    pseudonym_key: str = field(default=DEVELOPMENT_PSEUDONYM_KEY, repr=False)
    pseudonym_key_is_development: bool = True
    dagster_home: Path | None = None
    alert_webhook_url: str | None = field(default=None, repr=False)
    writer_wait_seconds: float = 600.0
    schedule_cron: str = "0 6 * * *"
    sensor_interval_seconds: int = 30
    openlineage_url: str | None = field(default=None, repr=False)
    openlineage_api_key: str | None = field(default=None, repr=False)

    @property
    def landing_dir(self) -> Path:
        """Files exactly as departments delivered them: ``landing/<department>/<dataset>/``."""
        return self.data_dir / "landing"

    @property
    def warehouse_path(self) -> Path:
        """The DuckDB warehouse the pipeline writes (one writer process at a time)."""
        return self.data_dir / "warehouse.duckdb"

    @property
    def published_dir(self) -> Path:
        """Read-only snapshots that analysts query."""
        return self.data_dir / "published"

    @property
    def extracts_dir(self) -> Path:
        """Extracts written under sharing agreements: ``extracts/<agreement>/<extract id>/``."""
        return self.data_dir / "extracts"

    @property
    def docs_dir(self) -> Path:
        """Generated documentation (quality Data Docs, catalogue)."""
        return self.data_dir / "docs"

    @property
    def ground_truth_dir(self) -> Path:
        """The sample generator's ground truth, kept outside the landing zone."""
        return self.data_dir / "ground_truth"

    def dbt_env(self) -> dict[str, str]:
        """Environment variables the dbt profile reads."""
        return {
            "COMMONGROUND_WAREHOUSE": str(self.warehouse_path),
            "COMMONGROUND_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
            "COMMONGROUND_PSEUDONYM_KEY": self.pseudonym_key,
            # dbt's file log records compiled SQL at debug level, key included.
            "DBT_LOG_LEVEL_FILE": "info",
            # Dagster may run the dbt project in several steps (the linkage sits between
            # two of them); a test runs only in a step that builds or follows all its parents.
            "DBT_INDIRECT_SELECTION": "buildable",
            # dagster-dbt seeds each step's target folder with the partial parse found here,
            # so steps skip re-parsing the project.
            "DBT_TARGET_PATH": str(self.dbt_target_dir),
        }


def get_settings() -> Settings:
    """Reads the settings from the environment now.

    Environment variables:
        COMMONGROUND_DATA_DIR: data directory (default ``./data`` in the repository).
        COMMONGROUND_ENV: ``development`` (default) or ``production``.
        COMMONGROUND_DUCKDB_MEMORY_LIMIT: DuckDB memory limit (default ``8GB``).
        COMMONGROUND_DBT_TARGET_DIR: dbt target folder (default ``dbt_project/target``).
        COMMONGROUND_PSEUDONYM_KEY: key of the pseudonyms; required and strong
            (:func:`is_strong_key`) in production, a development key (with a warning, once
            per process) otherwise.
        DAGSTER_HOME: the Dagster instance that records runs (ephemeral when unset).
        COMMONGROUND_ALERT_WEBHOOK_URL: webhook that receives alerts (optional, secret).
        COMMONGROUND_WRITER_WAIT_SECONDS: how long to wait for the warehouse (default 600).
        COMMONGROUND_SCHEDULE_CRON: the daily run's cron schedule (default ``0 6 * * *``).
        COMMONGROUND_SENSOR_INTERVAL_SECONDS: landing-zone sensor interval (default 30).
        COMMONGROUND_OPENLINEAGE_URL: OpenLineage receiver that run events are posted to
            (optional; events are always written under ``<data dir>/openlineage``).
        COMMONGROUND_OPENLINEAGE_API_KEY: bearer token for that receiver (optional, secret).

    Raises:
        MissingSecretError: In production when ``COMMONGROUND_PSEUDONYM_KEY`` is unset.
        WeakSecretError: In production when the key fails :func:`is_strong_key`.
    """
    data_dir = Path(os.environ.get("COMMONGROUND_DATA_DIR") or DEFAULT_DATA_DIR).resolve()
    environment = os.environ.get("COMMONGROUND_ENV", "development").strip().lower()
    if environment not in {"development", "production"}:
        raise ValueError(
            f"COMMONGROUND_ENV must be 'development' or 'production', not {environment!r}"
        )
    key = os.environ.get("COMMONGROUND_PSEUDONYM_KEY") or ""
    if not key and environment == "production":
        raise MissingSecretError(
            "COMMONGROUND_PSEUDONYM_KEY is not set: production refuses to run without the "
            "pseudonymisation key. Set COMMONGROUND_PSEUDONYM_KEY to the secret from the key "
            f"store, or make one with `{KEYGEN_COMMAND}` (see README, 'Pseudonymisation key')."
        )
    if environment == "production" and not is_strong_key(key):
        raise WeakSecretError(
            "COMMONGROUND_PSEUDONYM_KEY is too weak for production (the development key, "
            "blank, or under 256 bits: fewer than 64 hex or 43 other characters). Make a "
            f"key with `{KEYGEN_COMMAND}`, keep it in the key store and set "
            "COMMONGROUND_PSEUDONYM_KEY to it (see README, 'Pseudonymisation key')."
        )
    if not key:
        _warn_development_key()
    return Settings(
        data_dir=data_dir,
        environment=environment,
        duckdb_memory_limit=os.environ.get("COMMONGROUND_DUCKDB_MEMORY_LIMIT", "8GB"),
        dbt_target_dir=Path(
            os.environ.get("COMMONGROUND_DBT_TARGET_DIR") or REPO_ROOT / "dbt_project" / "target"
        ).resolve(),
        pseudonym_key=key or DEVELOPMENT_PSEUDONYM_KEY,
        pseudonym_key_is_development=not key,
        dagster_home=Path(os.environ["DAGSTER_HOME"]) if os.environ.get("DAGSTER_HOME") else None,
        alert_webhook_url=os.environ.get("COMMONGROUND_ALERT_WEBHOOK_URL") or None,
        writer_wait_seconds=_number("COMMONGROUND_WRITER_WAIT_SECONDS", 600.0, float),
        schedule_cron=os.environ.get("COMMONGROUND_SCHEDULE_CRON") or "0 6 * * *",
        sensor_interval_seconds=_number("COMMONGROUND_SENSOR_INTERVAL_SECONDS", 30, int),
        openlineage_url=os.environ.get("COMMONGROUND_OPENLINEAGE_URL") or None,
        openlineage_api_key=os.environ.get("COMMONGROUND_OPENLINEAGE_API_KEY") or None,
    )


def _number(name: str, default, kind):
    """A non-negative number from the environment, with a one-line error naming the variable."""
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(f"{name} must be a non-negative {kind.__name__}, not {text!r}")
    return value


@functools.cache
def _warn_development_key() -> None:
    logger.warning(
        "COMMONGROUND_PSEUDONYM_KEY is not set: using the development pseudonymisation key. "
        "Pseudonyms made with it protect nothing; set the variable outside development."
    )
