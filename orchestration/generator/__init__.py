"""Synthetic sample-data generator: a coherent population and every department's delivery."""

from orchestration.generator.core import (
    PROFILES,
    GenerationSummary,
    generate_population,
    load_mission_vars,
)

__all__ = ["PROFILES", "GenerationSummary", "generate_population", "load_mission_vars"]
