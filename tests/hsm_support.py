"""SoftHSM2 tokens for the tests (imported by name; not a test module): a token directory of the
tests' own (``SOFTHSM2_CONF`` points at it).

The PKCS#11 module reads its configuration and finds its tokens once per process (at
``C_Initialize``), so the tokens are all initialised before it is first loaded, and each test
takes a token of its own from that pool.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ledger.hsm import SOFTHSM2_MODULE, Pkcs11Keystore

PIN = "4321-test-pin"
POOL_SIZE = 12


def _missing() -> str | None:
    if not Path(SOFTHSM2_MODULE).exists() or shutil.which("softhsm2-util") is None:
        return "SoftHSM2 is not installed (Debian package softhsm2)"
    try:
        import pkcs11  # noqa: F401
    except ImportError:
        return "python-pkcs11 is not installed"
    return None


_POOL: list[str] = []
_MADE: list[bool] = []


@pytest.fixture(scope="session")
def token_pool(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Labels of fresh tokens, initialised before the PKCS#11 module is loaded.

    The fixture is imported into more than one test package, so pytest may run it more than
    once per process; the pool is made only the first time, since the module (already loaded
    by then) would not see a second token directory.
    """
    if _MADE:
        return _POOL
    problem = _missing()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI requires {problem}")
        pytest.skip(problem)
    directory = tmp_path_factory.mktemp("softhsm")
    (directory / "tokens").mkdir()
    conf = directory / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {directory / 'tokens'}\nobjectstore.backend = file\n"
        "log.level = ERROR\n",
        encoding="utf-8",
    )
    os.environ["SOFTHSM2_CONF"] = str(conf)
    labels = []
    for _ in range(POOL_SIZE):
        label = "t" + uuid.uuid4().hex[:12]
        subprocess.run(
            ["softhsm2-util", "--init-token", "--free", "--label", label,
             "--pin", PIN, "--so-pin", "so-" + PIN],
            check=True, capture_output=True, env={**os.environ, "SOFTHSM2_CONF": str(conf)},
        )  # fmt: skip
        labels.append(label)
    _POOL.extend(labels)
    _MADE.append(True)
    return _POOL


@pytest.fixture
def new_token(token_pool: list[str]) -> Iterator[Callable[[], Pkcs11Keystore]]:
    """Open a fresh token from the pool as a keystore; closed afterwards."""
    opened: list[Pkcs11Keystore] = []

    def make() -> Pkcs11Keystore:
        assert token_pool, "the SoftHSM2 token pool is used up: raise POOL_SIZE"
        keystore = Pkcs11Keystore(SOFTHSM2_MODULE, token_pool.pop(), PIN)
        opened.append(keystore)
        return keystore

    yield make
    for keystore in opened:
        keystore.close()


__all__ = ["PIN", "new_token", "token_pool"]
