"""Record linkage without a national ID: the Splink person index and its quality metrics.

- :mod:`~orchestration.linkage.model`: the person model's Splink 5 specification, its
  training and its versioned model files.
- :mod:`~orchestration.linkage.comparisons`: how two records' names, dates of birth and
  addresses are compared, level by level.
- :mod:`~orchestration.linkage.person`: person records prepared, scored and clustered into
  the person index.
- :mod:`~orchestration.linkage.clustering`: constrained clustering of the links and stable
  pseudonymous person keys.
- :mod:`~orchestration.linkage.session`: the linkage's own DuckDB connection and memory.
- :mod:`~orchestration.linkage.metrics`: pairwise precision, recall and F1 against ground
  truth, and the cluster statistics that need none.

Splink is imported inside the functions that use it, so loading the code location does not
pay for it.
"""

from orchestration.linkage import metrics
from orchestration.linkage.clustering import (
    EXCLUSIVE_ATTRIBUTES,
    assign_person_keys,
    cluster_links,
)
from orchestration.linkage.model import (
    DEMO_ATTRIBUTES,
    MODEL_SPEC_VERSION,
    NoMatchEvidenceError,
    blocking_rules,
    comparison_counts,
    latest_model,
    match_weights,
    model_attributes,
    person_comparisons,
    person_settings,
    prior_rules,
    save_model,
    train_person_model,
)
from orchestration.linkage.person import (
    DEFAULT_THRESHOLD,
    LinkageRun,
    LinkResult,
    link_persons,
    prepare_from_warehouse,
    prepare_person_records,
    run_person_linkage,
    shared_attributes,
    write_index,
)
from orchestration.linkage.session import (
    LINKAGE_MEMORY_LIMIT,
    linkage_connection,
    linkage_memory_limit,
    warehouse_session,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "DEMO_ATTRIBUTES",
    "NoMatchEvidenceError",
    "blocking_rules",
    "comparison_counts",
    "model_attributes",
    "person_comparisons",
    "prior_rules",
    "shared_attributes",
    "EXCLUSIVE_ATTRIBUTES",
    "LINKAGE_MEMORY_LIMIT",
    "MODEL_SPEC_VERSION",
    "assign_person_keys",
    "cluster_links",
    "LinkResult",
    "LinkageRun",
    "latest_model",
    "link_persons",
    "linkage_connection",
    "linkage_memory_limit",
    "match_weights",
    "metrics",
    "person_settings",
    "prepare_from_warehouse",
    "prepare_person_records",
    "run_person_linkage",
    "save_model",
    "train_person_model",
    "warehouse_session",
    "write_index",
]
