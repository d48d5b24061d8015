"""Star levels and honours as 1EdTech Open Badges 3.0 ``OpenBadgeCredential`` s.

Shaped to pass 1EdTech's own JSON schema (``ob_v3p0_achievementcredential_schema.json``): the
proof is a proof set (a list), the issuer a ``Profile``, and the status a W3C Bitstring Status
List entry, so that a wallet or verifier learns when an honour is revoked or a star withdrawn.
"""

from __future__ import annotations

from typing import Any

from ..credentials import did_key
from ..credentials.jsonld_documents import OB_V3_CONTEXT, VC_V2_CONTEXT
from ..credentials.status_list import status_entry
from ..model.ids import url_uuid
from ..signing import VerifyingKey

OB_CONTEXT = OB_V3_CONTEXT
VC_CONTEXT = VC_V2_CONTEXT
BADGE_STATUS_INDEX = 0
"""Each badge has a status list of its own, like a certificate."""


def badge_credential(
    *,
    badge_id: str,
    name: str,
    description: str,
    criteria: str,
    issuer_name: str,
    issuer_key: VerifyingKey,
    number: str,
    awarded_at: str,
    achievement_type: str,
    status_list_url: str | None,
) -> dict[str, Any]:
    """An unsigned OpenBadgeCredential for a volunteer (identified by pseudonymous number).

    ``status_list_url`` names the badge's Bitstring Status List; ``None`` for an award that is
    never revoked, only superseded (a unit's rating for a period).
    """
    achievement_id = f"urn:uuid:{url_uuid('/achievements/' + badge_id.rsplit(':', 1)[0])}"
    badge: dict[str, Any] = {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": f"urn:uuid:{url_uuid('/badges/' + badge_id)}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": name,
        "issuer": {"id": did_key(issuer_key), "type": ["Profile"], "name": issuer_name},
        "validFrom": awarded_at,
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": number,
                    "identityType": "identifier",
                    "hashed": False,
                }
            ],
            "achievement": {
                "id": achievement_id,
                "type": ["Achievement"],
                "achievementType": achievement_type,
                "name": name,
                "description": description,
                "criteria": {"narrative": criteria},
            },
        },
    }
    if status_list_url is not None:
        badge["credentialStatus"] = status_entry(status_list_url, BADGE_STATUS_INDEX)
    return badge
