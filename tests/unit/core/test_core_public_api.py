"""``ledger.__all__`` is the public surface, complete; the error tree is small and coded."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import ledger
from ledger import errors


def top_level_public_names(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                names.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if not n.startswith("_") and n != "annotations"}


def test_all_lists_every_public_name_defined_in_the_package_init() -> None:
    source = Path(inspect.getfile(ledger)).read_text(encoding="utf-8")
    public = top_level_public_names(source)
    listed = set(ledger.__all__)
    assert public - listed == set(), "public names missing from __all__"
    assert listed - public == set(), "names in __all__ that the package does not define"


def test_every_name_in_all_exists_and_is_listed_once() -> None:
    assert len(ledger.__all__) == len(set(ledger.__all__))
    for name in ledger.__all__:
        assert hasattr(ledger, name), name


def test_all_includes_the_embedding_essentials() -> None:
    essentials = {
        "Ledger",
        "LedgerError",
        "SigningKey",
        "VerifyingKey",
        "MemoryKeystore",
        "DirectoryKeystore",
        "SIGNING_CONTEXT",
        "canonical_json",
        "TamperedEventError",
        "IdempotencyConflictError",
    }
    assert essentials <= set(ledger.__all__)


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from ledger import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(ledger.__all__)


def test_every_error_derives_from_ledger_error_with_a_unique_code() -> None:
    classes = [
        obj
        for obj in vars(errors).values()
        if inspect.isclass(obj) and issubclass(obj, Exception) and obj.__module__ == errors.__name__
    ]
    assert len(classes) >= 10
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes))
    for cls in classes:
        assert issubclass(cls, ledger.LedgerError)


def test_error_tree_shape() -> None:
    assert issubclass(ledger.IdempotencyConflictError, ledger.ConflictError)
    assert issubclass(ledger.ConcurrencyConflictError, ledger.ConflictError)
    assert issubclass(ledger.TamperedEventError, ledger.SignatureError)
    assert issubclass(ledger.InvalidInputError, ValueError)
    assert issubclass(ledger.NotFoundError, LookupError)
    error = ledger.NotFoundError("volunteer V1 is not in this ledger")
    assert error.message == str(error) == "volunteer V1 is not in this ledger"
