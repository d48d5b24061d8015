"""The JSON-LD contexts the ledger's credentials name, shipped with the package.

A verifier must never fetch a context from the network at verification time (the W3C VC 2.0
specification asks for pinned copies), so this module serves them from files: the W3C VC 2.0
context, the 1EdTech Open Badges 3.0.3 context, and the ledger's own versioned context for the
terms of certificates of service. :func:`document_loader` has the shape pyld expects.

The ledger's own context is published by each deployment at ``<public base URL>`` +
:data:`LEDGER_CONTEXT_PATH`; its content is the same everywhere (its terms name absolute IRIs
that do not depend on the host), so it is recognised by that path whatever the host.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from ..errors import NotFoundError

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_V3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
LEDGER_CONTEXT_FILE = "service-hour-ledger-v1.jsonld"
LEDGER_CONTEXT_PATH = "/contexts/" + LEDGER_CONTEXT_FILE

_FILES = {
    VC_V2_CONTEXT: "credentials-v2.jsonld",
    OB_V3_CONTEXT: "ob-v3p0-context-3.0.3.json",
}


def ledger_context_url(public_base_url: str) -> str:
    """Where a deployment publishes the ledger's context (``GET /contexts/...``)."""
    return public_base_url.rstrip("/") + LEDGER_CONTEXT_PATH


@cache
def context_bytes(file_name: str) -> bytes:
    """A shipped context file, exactly as shipped."""
    return resources.files("ledger.credentials").joinpath("contexts", file_name).read_bytes()


def context_file_for(url: str) -> str | None:
    """The shipped file that holds the context at ``url``, or None when none does."""
    if url in _FILES:
        return _FILES[url]
    parts = urlsplit(url)
    plain = not parts.query and not parts.fragment
    if parts.scheme in ("http", "https") and parts.path.endswith(LEDGER_CONTEXT_PATH) and plain:
        return LEDGER_CONTEXT_FILE
    return None


def load_context(url: str) -> dict[str, Any]:
    """The parsed context document at ``url``; NotFoundError for any other URL."""
    file_name = context_file_for(url)
    if file_name is None:
        raise NotFoundError(f"no shipped JSON-LD context for {url!r}; refusing to fetch it")
    document: dict[str, Any] = json.loads(context_bytes(file_name))
    return document


def document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """A pyld document loader that serves only the shipped contexts, never the network."""
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": load_context(url),
    }
