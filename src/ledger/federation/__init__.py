"""Federation of city ledgers: pinned peers, and a volunteer's transfer from one ledger to
another with their approved service proven by the sender's log (see docs/federation.md).

* :mod:`.anchors`: a peer's trust anchors (trust file plus witness policy) as pinned;
* :mod:`.summary`: the summary of a volunteer's approved service, computed from the events of
  their service account (the sender commits to it; the receiver recomputes it);
* :mod:`.package`: the sender builds the package (events, checkpoint, inclusion proofs, key
  evidence);
* :mod:`.verify`: the receiver checks a package against the pinned peer, trusting neither
  operator;
* :mod:`.province`: the provincial view, following each city's log and recomputing its
  statistics from verified entries (see docs/province.md).
"""

from .anchors import peer_anchors
from .package import PACKAGE_FORMAT, build_package
from .summary import SUMMARY_FORMAT, summarise, summary_digest
from .verify import PackageRefusedError, VerifiedTransfer, verify_package

__all__ = [
    "PACKAGE_FORMAT",
    "SUMMARY_FORMAT",
    "PackageRefusedError",
    "VerifiedTransfer",
    "build_package",
    "peer_anchors",
    "summarise",
    "summary_digest",
    "verify_package",
]
