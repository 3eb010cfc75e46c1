"""credlink's data and risk layer: contract, identifiers, store, ingest, graph, warnings.

The risk settings are one :class:`RiskConfig` (propagation, rules, grades); every routine that
computes linked risk takes it.

``risk`` imports no other credlink package. The names below are its public entry points;
each module's ``__all__`` lists the rest.
"""

from risk.bods import export_bods, import_bods
from risk.config import RiskConfig
from risk.contract import (
    REGULATORS,
    TABLES,
    Domain,
    RecordKind,
    Role,
    Severity,
    regulator_for,
)
from risk.controllers import actual_controllers
from risk.exceptions import (
    IllegalTransitionError,
    InvalidIdentifierError,
    MigrationRefusedError,
    MissingColumnsError,
    RiskError,
    UnknownEntityError,
    UnknownTableError,
    UnknownWarningError,
)
from risk.explain import explain
from risk.grades import GradeConfig, grade_enterprises, watchlist
from risk.graph import GraphSnapshot
from risk.groups import control_mask, related_groups, shared_person_links
from risk.identifiers import (
    check_uscc,
    hash_resident_id,
    make_uscc,
    mask_name,
    mask_resident_id,
    validate_uscc,
)
from risk.ingest import IngestSummary, ingest_file, ingest_frame, ingest_paths
from risk.live import apply_paths, apply_records
from risk.propagation import PropagationConfig, RiskPropagator, RiskScores
from risk.publicity import active_mask, is_active, resolve_publicity
from risk.rule_checks import evaluate_rules
from risk.rules import RuleConfig
from risk.snapshot import ScoredSnapshot, score_snapshot
from risk.store import migrate, open_engine, read_table
from risk.synth import SynthConfig, generate_county, write_county
from risk.warnings import list_warnings, run_warnings, transition

__all__ = [
    "REGULATORS",
    "TABLES",
    "Domain",
    "GradeConfig",
    "GraphSnapshot",
    "IllegalTransitionError",
    "IngestSummary",
    "InvalidIdentifierError",
    "MigrationRefusedError",
    "MissingColumnsError",
    "PropagationConfig",
    "RecordKind",
    "RiskConfig",
    "RiskError",
    "RiskPropagator",
    "RiskScores",
    "Role",
    "RuleConfig",
    "ScoredSnapshot",
    "Severity",
    "SynthConfig",
    "UnknownEntityError",
    "UnknownTableError",
    "UnknownWarningError",
    "active_mask",
    "actual_controllers",
    "apply_paths",
    "apply_records",
    "check_uscc",
    "control_mask",
    "evaluate_rules",
    "explain",
    "export_bods",
    "generate_county",
    "grade_enterprises",
    "hash_resident_id",
    "import_bods",
    "ingest_file",
    "ingest_frame",
    "ingest_paths",
    "is_active",
    "list_warnings",
    "make_uscc",
    "mask_name",
    "mask_resident_id",
    "migrate",
    "open_engine",
    "read_table",
    "regulator_for",
    "related_groups",
    "resolve_publicity",
    "run_warnings",
    "score_snapshot",
    "shared_person_links",
    "transition",
    "validate_uscc",
    "watchlist",
    "write_county",
]
