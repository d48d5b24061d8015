"""The audit replay tool: verify a whole ledger, or an exported bundle, offline."""

from .auditor import AuditReport, audit, load_trust, open_source
from .export import export_bundle
from .findings import FINDING_KINDS, Finding
from .sources import BundleSource, StoreSource

__all__ = [
    "FINDING_KINDS",
    "AuditReport",
    "BundleSource",
    "Finding",
    "StoreSource",
    "audit",
    "export_bundle",
    "load_trust",
    "open_source",
]
