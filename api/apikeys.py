"""API keys, as the library keeps them (:mod:`ledger.apikeys`); named here for the API's modules."""

from ledger.apikeys import (
    CREATED,
    LAST_USED,
    NAMESPACE,
    PREFIX,
    SCOPES,
    ApiKey,
    LastUse,
    create_api_key,
    create_api_key_once,
    find_api_key,
    key_id_of,
    list_api_keys,
    revoke_api_key,
)

__all__ = [
    "CREATED",
    "LAST_USED",
    "NAMESPACE",
    "PREFIX",
    "SCOPES",
    "ApiKey",
    "LastUse",
    "create_api_key",
    "create_api_key_once",
    "find_api_key",
    "key_id_of",
    "list_api_keys",
    "revoke_api_key",
]
