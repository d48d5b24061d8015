"""Where the packages are: the library in ``src/ledger``, the HTTP API in ``api/``, installed
as ``ledger_api`` so the distribution puts nothing at the top level but its own names.

The metadata lives in pyproject.toml; only the package mapping is computed here, so a new
subpackage of either is found without editing a list.
"""

from setuptools import find_packages, setup

API = [f"ledger_api.{name}" for name in find_packages("api")]

setup(
    package_dir={"": "src", "ledger_api": "api"},
    packages=[
        *find_packages("src", include=["ledger", "ledger.*"]),
        "ledger.credentials.contexts",  # data only: the shipped JSON-LD contexts
        "ledger_api",
        *API,
    ],
    package_data={
        "ledger": ["py.typed"],
        "ledger.credentials.contexts": ["*.jsonld", "*.json", "*.md"],
        "ledger_api": ["py.typed"],
    },
)
