"""An expectation's result as plain data (no Great Expectations import needed to read it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's result, as a Dagster asset check and a results-history row see it.

    Attributes:
        check_name: Name of the check, unique for the dataset.
        dimension: GDQF dimension.
        severity: ``ERROR`` (blocks) or ``WARN`` (recorded).
        description: What the expectation checks, in words.
        success: Whether the expectation held; always False when ``error`` is set.
        element_count: Rows (or derived rows) judged, where the expectation counts them.
        unexpected_count: Rows that broke the expectation.
        unexpected_percent: Their percentage of ``element_count``.
        observed_value: What GX observed, as text.
        samples: A few unexpected values (masked where they are direct identifiers).
        error: GX's internal error message; a platform error, not a data finding.
    """

    check_name: str
    dimension: str
    severity: str
    description: str
    success: bool
    element_count: int | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    observed_value: str | None = None
    samples: tuple[str, ...] = ()
    error: str | None = None

    @property
    def score(self) -> float | None:
        """Percentage of the data that meets the expectation (100/0 for whole-table checks)."""
        if self.error:
            return None
        if self.unexpected_percent is not None:
            return max(0.0, 100.0 - self.unexpected_percent)
        return 100.0 if self.success else 0.0
