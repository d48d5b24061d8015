"""``Ledger.key(key_id, within_seconds=...)``, what evidence (``GET /leaves/{i}``) names its key
with: the keys are read from the store at most that often, a key registered elsewhere is found
at once, and a revocation stored elsewhere shows once the window has passed."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from core_support import SQL_STORES, create_city

from ledger import Ledger, NotFoundError, SigningKey


@pytest.mark.parametrize("kind", SQL_STORES)
def test_key_facts_within_a_window_find_new_keys_and_show_revocations_after_it(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    url = store_url_for(kind)
    writer = open_ledger(url)
    create_city(writer)
    reader = open_ledger(url)  # another process on the same store
    new = SigningKey.generate()
    with pytest.raises(NotFoundError):
        reader.key(new.key_id, within_seconds=60)
    writer.register_key("city", for_org="org-a", public_key=new.public_key, idempotency_key="k")
    found = reader.key(new.key_id, within_seconds=60)  # unknown: read from the store at once
    assert found["org"] == "org-a" and found["revoked_at_leaf"] is None
    writer.revoke_key(
        "city", for_org="org-a", key_id=new.key_id, reason="rotated", idempotency_key="r"
    )
    assert reader.key(new.key_id, within_seconds=60)["revoked_at_leaf"] is None  # in the window
    revoked = reader.key(new.key_id)["revoked_at_leaf"]  # no window: read first, as before
    assert revoked is not None
    assert writer.key(new.key_id, within_seconds=60)["revoked_at_leaf"] == revoked  # its write
    again = SigningKey.generate()
    writer.register_key("city", for_org="org-a", public_key=again.public_key, idempotency_key="a")
    reader.key(again.key_id, within_seconds=0.2)
    writer.revoke_key(
        "city", for_org="org-a", key_id=again.key_id, reason="lost", idempotency_key="l"
    )
    time.sleep(0.3)
    assert reader.key(again.key_id, within_seconds=0.2)["revoked_at_leaf"] is not None
