"""[architecture] The model stands alone: its rules import nothing above them at run time.

The graph is read from the source (every ``import`` a module runs, at its top or inside a
function; those under ``if TYPE_CHECKING:`` are for the type checker only). The model
(``ledger.model``) may import itself and a few leaf modules below it; nothing those leaves import
leads back up, so no import cycle passes through the model, and none needs an import hidden inside
a function to hold together.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src"
MODEL = "ledger.model"
BELOW_THE_MODEL = frozenset(
    {
        "ledger.errors",
        "ledger.signing",
        "ledger.envelope",
        "ledger.canonical",
        "ledger.assessment.catalogue",
    }
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package_of(path: Path) -> list[str]:
    parts = _module_name(path).split(".")
    return parts if path.name == "__init__.py" else parts[:-1]


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            hidden.update(id(child) for statement in node.body for child in ast.walk(statement))
    return hidden


@cache
def import_graph() -> dict[str, frozenset[str]]:
    """Module -> the ledger modules it imports when it runs."""
    modules = {_module_name(p): p for p in (SRC / "ledger").rglob("*.py")}
    graph: dict[str, frozenset[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        hidden = _type_checking_nodes(tree)
        targets: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in hidden:
                continue
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = _package_of(path)[: len(_package_of(path)) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                for alias in node.names:  # ``from . import x`` may name a submodule
                    submodule = f"{module}.{alias.name}"
                    targets.add(submodule if submodule in modules else module)
        graph[name] = frozenset(t for t in targets if t in modules)
    return graph


def reachable(start: str) -> set[str]:
    graph, seen, todo = import_graph(), set(), [start]
    while todo:
        for target in graph[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _in_model(module: str) -> bool:
    return module == MODEL or module.startswith(MODEL + ".")


def test_the_graph_is_read_from_the_source() -> None:
    graph = import_graph()
    assert "ledger.model.registry" in graph["ledger.model.service"]
    assert "ledger.model.calendar" in graph["ledger.trust"]
    assert "ledger.trust" in graph["ledger.context"]


def test_the_model_imports_only_itself_and_the_modules_below_it() -> None:
    outside = {
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        if _in_model(module)
        for target in targets
        if not _in_model(target) and target not in BELOW_THE_MODEL
    }
    assert not outside, sorted(outside)


def test_nothing_below_the_model_leads_back_up() -> None:
    for module in BELOW_THE_MODEL:
        upward = {m for m in reachable(module) if _in_model(m) or m == "ledger.context"}
        upward |= {m for m in reachable(module) if m not in BELOW_THE_MODEL}
        assert not upward, f"{module} reaches {sorted(upward)}"


def _model_modules() -> set[str]:
    return {m for m in import_graph() if _in_model(m)}


def test_no_import_cycle_passes_through_the_model() -> None:
    # the package imports its modules to register them; a module importing the package would not
    cycles = {m for m in _model_modules() - {MODEL} if m in reachable(m)}
    assert not cycles, sorted(cycles)


def test_the_model_hides_no_import_inside_a_function() -> None:
    hidden = []
    for path in sorted((SRC / "ledger" / "model").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        type_checking = _type_checking_nodes(tree)
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            hidden += [
                f"{path.name}:{node.lineno}"
                for node in ast.walk(function)
                if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in type_checking
            ]
    assert not hidden, hidden


def test_the_service_layer_reaches_the_model_and_not_the_reverse() -> None:
    assert "ledger.context" not in set().union(*(reachable(m) for m in _model_modules()))
    assert "ledger.trust" not in set().union(*(reachable(m) for m in _model_modules()))
    assert _model_modules() & reachable("ledger.context")
