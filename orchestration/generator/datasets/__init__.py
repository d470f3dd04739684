"""Builders of each department's delivery from the true population, one chunk at a time.

- :mod:`~orchestration.generator.datasets.context`: the settings and lookup tables every
  builder shares, the chunk a builder returns and the helpers they use.
- one module per delivering department: :mod:`~orchestration.generator.datasets.dwp`,
  :mod:`~orchestration.generator.datasets.hmrc`, :mod:`~orchestration.generator.datasets.nhs`,
  :mod:`~orchestration.generator.datasets.dfe`, :mod:`~orchestration.generator.datasets.council`
  and :mod:`~orchestration.generator.datasets.dluhc`.
"""

from orchestration.generator.datasets.context import DAY, Chunk, Context, make_context
from orchestration.generator.datasets.council import council_tax
from orchestration.generator.datasets.dfe import school_census
from orchestration.generator.datasets.dluhc import RATING_LETTERS, energy_certificates
from orchestration.generator.datasets.dwp import benefit_awards
from orchestration.generator.datasets.hmrc import paye_income
from orchestration.generator.datasets.nhs import gp_registrations

__all__ = [
    "DAY",
    "RATING_LETTERS",
    "Chunk",
    "Context",
    "benefit_awards",
    "council_tax",
    "energy_certificates",
    "gp_registrations",
    "make_context",
    "paye_income",
    "school_census",
]
