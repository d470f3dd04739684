"""What a generation run wrote, whatever its profile."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class GenerationSummary:
    """What a generation run wrote.

    Attributes:
        data_dir: The data directory written to.
        files: Path of every landing file, by ``<department>/<dataset>``.
        rows: Rows delivered in each landing file, by ``<department>/<dataset>``.
        ground_truth: Path of every ground-truth file, by file name.
        citizens: Number of citizens in the population.
        properties: Number of properties.
        seed: Random seed.
        messiness: Multiplier of every mess rate.
        elapsed_seconds: Wall time of the run.
        profile: The generator profile (``uk`` or ``foreign``).
    """

    data_dir: Path
    files: dict[str, Path] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    ground_truth: dict[str, Path] = field(default_factory=dict)
    citizens: int = 0
    properties: int = 0
    seed: int = 0
    messiness: float = 1.0
    elapsed_seconds: float = 0.0
    profile: str = "uk"
