"""W3C Bitstring Status List credentials for certificates and badges, signed on request.

Each certificate and each badge names a status list of its own (bit 0): the list is built from
the log when asked for, so revoking a certificate, revoking an honour or withdrawing a star
flips the bit at once, and signed by the same organisation that issued the credential, as
generic verifiers require. A certificate issued with a key the server does not hold (through
``ledger.client``) has instead the list its issuer signed at issuance, served until it is revoked.
"""

from __future__ import annotations

import json
from typing import Any

from ..certificates.links import CredentialLinks, parse_badge_status_list_url
from ..credentials import add_proof, did_key, did_key_verification_method
from ..credentials._datetime import format_datetime
from ..credentials.status_list import status_list_credential
from ..errors import InvalidInputError, KeyNotAuthorisedError, NotFoundError
from .badges import Award
from .base import CommandHost
from .certificates import SIGNED_STATUS_LISTS


class CredentialStatusCommands(CommandHost):
    def certificate_status_list(
        self,
        certificate_number: str,
        *,
        public_base_url: str | None = None,
        allow_local_links: bool = False,
    ) -> dict[str, Any]:
        """The signed ``BitstringStatusListCredential`` of one certificate: bit 0 is 1 once it
        is revoked."""
        links = self.credential_links(public_base_url, allow_local=allow_local_links)
        found = self.certificate(certificate_number)
        url = links.certificate_status_list(certificate_number)
        signed_at_home = self._writer.recorder.side_get(SIGNED_STATUS_LISTS, certificate_number)
        if signed_at_home is not None:
            # Issued with a key the server does not hold: the list its issuer signed then says
            # "not revoked", true only while it is not; once revoked, only a list the revoking
            # organisation signed saying so (with the issuer's key) is served.
            if found["revoked"]:
                revoked = self._writer.recorder.side_get(
                    SIGNED_STATUS_LISTS, f"{certificate_number}:revoked"
                )
                if revoked is not None:
                    said: dict[str, Any] = json.loads(revoked)
                    return said
                raise KeyNotAuthorisedError(
                    f"certificate {certificate_number} was revoked and its issuer's key is not "
                    "held here to sign a status list saying so; its status note says so"
                )
            stored: dict[str, Any] = json.loads(signed_at_home)
            return stored
        return self._signed_status_list(found["issuer"], url, revoked=found["revoked"])

    def badge_status_list(
        self,
        number: str,
        *,
        scheme_id: str | None = None,
        level: int | None = None,
        honour_id: str | None = None,
        public_base_url: str | None = None,
        allow_local_links: bool = False,
    ) -> dict[str, Any]:
        """The signed status list of a star badge (``scheme_id`` and ``level``) or an honour
        badge (``honour_id``): bit 0 is 1 once the star is withdrawn or the honour revoked."""
        links = self.credential_links(public_base_url, allow_local=allow_local_links)
        award: Award
        if scheme_id is not None and level is not None and honour_id is None:
            award = self.star_award(number, scheme_id, level)
        elif honour_id is not None and scheme_id is None and level is None:
            award = self.honour_award(number, honour_id)
        else:
            raise InvalidInputError("name a star (scheme_id and level) or an honour (honour_id)")
        url = award.status_list_url(links)
        return self._signed_status_list(award.org, url, revoked=award.revoked)

    def badge_award(self, status_list_url: str) -> Award:
        """The award behind a badge status list URL of this ledger's shape (any host), read
        without signing anything: how ``POST /verify`` learns that a badge no longer stands.
        NotFoundError when the URL is not one or the award is not in this ledger."""
        found = parse_badge_status_list_url(status_list_url)
        if found is None:
            raise NotFoundError(f"{status_list_url!r} is not a badge status list of this ledger")
        number, scheme_id, level, honour_id = found
        if honour_id is not None:
            return self.honour_award(number, honour_id)
        return self.star_award(number, str(scheme_id), int(level or 0))

    def _signed_status_list(self, org: str, url: str, *, revoked: bool) -> dict[str, Any]:
        signer = self.signer_for(org)
        now = format_datetime(self.clock())
        unsigned = status_list_credential(
            list_url=url,
            issuer=did_key(signer.public_key),
            set_bits=[0] if revoked else [],
            valid_from=now,
        )
        return add_proof(unsigned, signer, did_key_verification_method(signer.public_key), now)

    # provided by the other command mixins
    def credential_links(
        self, public_base_url: str | None, *, allow_local: bool = False
    ) -> CredentialLinks:
        raise NotImplementedError

    def certificate(self, certificate_number: str) -> dict[str, Any]:
        raise NotImplementedError

    def star_award(self, number: str, scheme_id: str, level: int) -> Award:
        raise NotImplementedError

    def honour_award(self, number: str, honour_id: str) -> Award:
        raise NotImplementedError
