"""Star schemes: each scheme's owner, current version and thresholds, so that a balance read
from the views gives the level due under every scheme, as the library's does."""

from __future__ import annotations

import json

from .base import ProjectedEvent, View
from .batch_writes import put
from .database import ViewCursor

VIEW = View(
    name="star_schemes",
    tables={
        "view_star_schemes": "scheme_id TEXT PRIMARY KEY, owner TEXT NOT NULL, "
        "version INTEGER NOT NULL, thresholds TEXT NOT NULL",
    },
    keys={"view_star_schemes": "scheme_id"},
)


def thresholds_text(thresholds_hours: list[int]) -> str:
    """The thresholds (hours) as the view keeps them: a JSON list, without spaces."""
    return json.dumps(thresholds_hours, separators=(",", ":"))


@VIEW.on("StarSchemePublished", "StarSchemeRevised")
def scheme(cursor: ViewCursor, event: ProjectedEvent) -> None:
    """The owner is the signer of the scheme's latest version, as in the ledger's directory."""
    data = event.data
    put(
        cursor,
        "view_star_schemes",
        {"scheme_id": data["scheme_id"]},
        {
            "owner": event.org,
            "version": data["version"],
            "thresholds": thresholds_text(data["thresholds_hours"]),
        },
    )
