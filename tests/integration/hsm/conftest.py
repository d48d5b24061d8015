"""SoftHSM2 tokens for the HSM tests (the fixtures live in ``tests/hsm_support.py``)."""

from hsm_support import new_token, token_pool

__all__ = ["new_token", "token_pool"]
