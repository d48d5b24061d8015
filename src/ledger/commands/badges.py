"""Open Badges 3.0 for star levels and honours, and whether each still stands.

A badge is signed when it is exported, by the body that made the award; it names a Bitstring
Status List of its own, which says revoked once the honour is revoked or the volunteer no longer
holds that star level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..certificates.badges import badge_credential
from ..certificates.links import CredentialLinks
from ..credentials import add_proof, as_proof_set, did_key_verification_method
from ..errors import InvalidInputError, NotFoundError
from ..model.service import service_account_id
from .base import CommandHost

STAR_EVENTS = ("StarAttained", "StarWithdrawn")


@dataclass(frozen=True)
class Award:
    """What a badge states, who awarded it, and whether it still stands."""

    org: str
    badge_id: str
    name: str
    description: str
    criteria: str
    awarded_at: str
    achievement_type: str
    revoked: bool
    number: str
    scheme_id: str | None = None
    level: int | None = None
    honour_id: str | None = None

    def status_list_url(self, links: CredentialLinks) -> str:
        """Where the badge's own Bitstring Status List is served."""
        if self.honour_id is not None:
            return links.honour_status_list(self.number, self.honour_id)
        return links.star_status_list(self.number, str(self.scheme_id), int(self.level or 0))


class BadgeCommands(CommandHost):
    def badge(
        self,
        number: str,
        *,
        scheme_id: str | None = None,
        honour_id: str | None = None,
        public_base_url: str | None = None,
        allow_local_links: bool = False,
    ) -> dict[str, Any]:
        """An Open Badges 3.0 credential for the star level the volunteer holds now under
        ``scheme_id``, or for the honour ``honour_id``, signed by the body that awarded it."""
        links = self.credential_links(public_base_url, allow_local=allow_local_links)
        if (scheme_id is None) == (honour_id is None):
            raise InvalidInputError("name exactly one of scheme_id and honour_id")
        if scheme_id is not None:
            level = self._star_level(number, scheme_id)
            award = self.star_award(number, scheme_id, level)
        else:
            award = self.honour_award(number, str(honour_id))
        if award.revoked:
            raise NotFoundError(f"volunteer {number} no longer holds {award.name!r}")
        signer = self.signer_for(award.org)
        unsigned = badge_credential(
            badge_id=award.badge_id,
            name=award.name,
            description=award.description,
            criteria=award.criteria,
            issuer_name=self._directory.organisation(award.org).name,
            issuer_key=signer.public_key,
            number=number,
            awarded_at=award.awarded_at,
            achievement_type=award.achievement_type,
            status_list_url=award.status_list_url(links),
        )
        method = did_key_verification_method(signer.public_key)
        return as_proof_set(add_proof(unsigned, signer, method, award.awarded_at))

    def credential_links(
        self, public_base_url: str | None, *, allow_local: bool = False
    ) -> CredentialLinks:
        raise NotImplementedError

    def _star_level(self, number: str, scheme_id: str) -> int:
        level = 0
        for event in self.events(service_account_id(number)):
            if event.type in STAR_EVENTS and event.data["scheme_id"] == scheme_id:
                attained = event.type == "StarAttained"
                level = event.data["level"] if attained else event.data["level"] - 1
        if level == 0:
            raise NotFoundError(f"volunteer {number} holds no star of {scheme_id}")
        return level

    def star_award(self, number: str, scheme_id: str, level: int) -> Award:
        """The star ``level`` under ``scheme_id`` as last attained; revoked once the volunteer
        holds a lower level."""
        attained = [
            e
            for e in self.events(service_account_id(number))
            if e.type == "StarAttained"
            and e.data["scheme_id"] == scheme_id
            and e.data["level"] == level
        ]
        if not attained:
            raise NotFoundError(f"volunteer {number} never held {level} stars of {scheme_id}")
        scheme = self._directory.reference.star_schemes[scheme_id]
        try:
            held = self._star_level(number, scheme_id)
        except NotFoundError:
            held = 0
        return Award(
            org=attained[-1].org,
            badge_id=f"{number}:{scheme_id}:{level}",
            name=f"{scheme.name}: {level} star{'s' if level > 1 else ''}",
            description=f"{level}-star volunteer under {scheme.name}",
            criteria=f"{scheme.thresholds_hours[level - 1]} hours of approved volunteer service",
            awarded_at=attained[-1].occurred_at,
            achievement_type="CommunityService",
            revoked=held < level,
            number=number,
            scheme_id=scheme_id,
            level=level,
        )

    def honour_award(self, number: str, honour_id: str) -> Award:
        """The honour as granted; revoked once a ``HonourRevoked`` names it."""
        account = self.events(service_account_id(number))
        granted = [
            e for e in account if e.type == "HonourGranted" and e.data["honour_id"] == honour_id
        ]
        if not granted:
            raise NotFoundError(f"volunteer {number} holds no honour {honour_id}")
        data = granted[0].data
        return Award(
            org=granted[0].org,
            badge_id=f"{number}:{honour_id}",
            name=data["honour"],
            description=data["citation"],
            criteria=data["citation"],
            awarded_at=granted[0].occurred_at,
            achievement_type="Award",
            revoked=any(
                e.type == "HonourRevoked" and e.data["honour_id"] == honour_id for e in account
            ),
            number=number,
            honour_id=honour_id,
        )
