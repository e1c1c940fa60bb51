"""spatialreno: contiguous area packages (片区) for old-compound renovation (老旧小区改造).

Read the compound, illegal-structure, gas, barrier and admin layers; overlay and cost
them; build the adjacency graph; partition it into contiguous packages under hard caps;
phase, map and export them. One function per stage, tied together by :class:`Plan`::

    import spatialreno as sr
    d = sr.sample_district()
    G = sr.build_adjacency(d.compounds, tolerance_m=15, barriers=d.barriers)

Public names are imported lazily, so ``import spatialreno`` stays fast and a stage's heavy
dependencies (folium, scipy, openpyxl) load only when that stage is used.
"""

from __future__ import annotations

import importlib

from .errors import (
    ConfigError,
    CRSError,
    DataError,
    EditError,
    EncodingError,
    ExportError,
    InfeasiblePackagingError,
    LayerReadError,
    OutputFolderError,
    PackagingError,
    SchemaError,
    SpatialRenoError,
    SpatialRenoWarning,
)

__version__ = "0.1.0"

#: public name → module that defines it
_LAZY: dict[str, str] = {
    "read_layer": "io",
    "read_layers": "io",
    "check_layer": "validate",
    "repair_layer": "validate",
    "sample_district": "datasets",
    "load_sample": "datasets",
    "write_sample": "sample",
    "District": "datasets",
    "build_adjacency": "adjacency",
    "adjacency_report": "adjacency",
    "partition_packages": "partition",
    "PartitionResult": "partition",
    "package_compactness": "partition",
    "violations": "partition",
    "solver_report": "partition",
    "check_plan": "partition",
    "stable_package_ids": "partition",
    "dissolve_packages": "packages",
    "diff_packages": "packages",
    "move_compound": "packages",
    "overlay_illegal": "overlay",
    "overlay_gas": "overlay",
    "flag_fire_lanes": "overlay",
    "reconcile": "overlay",
    "AgedRule": "overlay",
    "OccupationRule": "overlay",
    "DEFAULT_AGED_RULES": "overlay",
    "CostRates": "costing",
    "TenderThresholds": "costing",
    "estimate_costs": "costing",
    "fund_packages": "costing",
    "FundingShares": "costing",
    "CostEstimate": "costing",
    "FundingResult": "costing",
    "assign_phases": "phasing",
    "progress_summary": "phasing",
    "format_report": "phasing",
    "PriorityWeights": "phasing",
    "priority_scores": "phasing",
    "PhasingResult": "phasing",
    "ProgressSummary": "phasing",
    "explore_packages": "maps",
    "save_map": "maps",
    "review_map": "maps",
    "add_packages_layer": "maps",
    "add_compounds_layer": "maps",
    "add_illegal_layer": "maps",
    "add_gas_layer": "maps",
    "add_barriers_layer": "maps",
    "add_admin_layer": "maps",
    "package_colors": "maps",
    "wgs84_to_gcj02": "maps",
    "export_bundle": "export",
    "read_bundle": "export",
    "read_manifest": "export",
    "field_table": "export",
    "Plan": "plan",
    "PlanResult": "plan",
}
_SUBMODULES = {
    "schema", "errors", "io", "validate", "sample", "adjacency", "partition", "packages",
    "overlay", "costing", "phasing", "maps", "export", "plan", "cli", "testing", "datasets",
}

__all__ = [
    "__version__",
    "SpatialRenoError",
    "DataError",
    "LayerReadError",
    "CRSError",
    "SchemaError",
    "EncodingError",
    "ConfigError",
    "PackagingError",
    "InfeasiblePackagingError",
    "EditError",
    "ExportError",
    "OutputFolderError",
    "SpatialRenoWarning",
    *_LAZY,
]


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'spatialreno' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)
