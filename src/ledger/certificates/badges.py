"""Star levels and honours as 1EdTech Open Badges 3.0 ``OpenBadgeCredential`` s."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, uuid5

from ..credentials import did_key
from ..signing import VerifyingKey

OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"


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
) -> dict[str, Any]:
    """An unsigned OpenBadgeCredential for a volunteer (identified by pseudonymous number)."""
    achievement_id = (
        f"urn:uuid:{uuid5(NAMESPACE_URL, '/achievements/' + badge_id.rsplit(':', 1)[0])}"
    )
    return {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": f"urn:uuid:{uuid5(NAMESPACE_URL, '/badges/' + badge_id)}",
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
