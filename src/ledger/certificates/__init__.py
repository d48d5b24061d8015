"""Certificates of service and award credentials: W3C VCs signed with eddsa-jcs-2022,
logged in the ledger, with a log-signed revocation status, verifiable offline."""

from .badges import badge_credential
from .credential import certificate_credential, credential_sha256, sign_credential
from .status import Status, open_status, sign_status
from .verify import Verdict, verify_document, verify_package

__all__ = [
    "Status",
    "Verdict",
    "badge_credential",
    "certificate_credential",
    "credential_sha256",
    "open_status",
    "sign_credential",
    "sign_status",
    "verify_document",
    "verify_package",
]
