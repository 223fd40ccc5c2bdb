"""The package's modules import one way (docs/architecture.md): a module imports only from its own
layer or the layers below, no import cycle exists (counting imports inside functions), and rule
modules see only the rule API and the leaf value types, never the evaluator or the engine."""

from __future__ import annotations

import ast
import fnmatch
from pathlib import Path

import pytest

from tests.conftest import ROOT

SRC = ROOT / "src"

# Bottom to top. A pattern with `*` places every module of a package; the most specific pattern wins.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "leaf",
        (
            "logitlint",
            "logitlint.diagnostics",
            "logitlint.limits",
            "logitlint.source",
            "logitlint.noqa",
            "logitlint.gitignore",
            "logitlint.cstparse",
            "logitlint.outline",
            "logitlint.notebooks",
            "logitlint.analysis",
            "logitlint.analysis.syntax",
            "logitlint.analysis.torchapi",
            "logitlint.analysis.values",
        ),
    ),
    (
        "evaluator",
        ("logitlint.analysis.tables", "logitlint.analysis.whole", "logitlint.analysis.semantics", "logitlint.analysis.evaluate"),
    ),
    ("flow", ("logitlint.analysis.flow", "logitlint.analysis.losses", "logitlint.analysis.summaries")),
    (
        "module context",
        (
            "logitlint.analysis.imports",
            "logitlint.analysis.scopes",
            "logitlint.analysis.classes",
            "logitlint.analysis.module",
        ),
    ),
    ("project index", ("logitlint.analysis.project", "logitlint.analysis.callsites", "logitlint.analysis.contexts")),
    ("rules", ("logitlint.fixes", "logitlint.rules", "logitlint.rules.*")),
    (
        "engine",
        (
            "logitlint.engine",
            "logitlint.fixer",
            "logitlint.docs",
            "logitlint.files",
            "logitlint.config",
            "logitlint.cache",
        ),
    ),
    (
        "runner",
        (
            "logitlint.runner",
            "logitlint.baseline",
            "logitlint.formats",
            "logitlint.formats.*",
            "logitlint.prove",
            "logitlint.prove.*",
        ),
    ),
    ("runtime", ("logitlint.runtime", "logitlint.runtime.*")),
    (
        "adapters",
        (
            "logitlint.__main__",
            "logitlint.cli",
            "logitlint.cli_commands",
            "logitlint.cli_hints",
            "logitlint.watch",
            "logitlint.lsp",
            "logitlint.lsp.*",
            "logitlint.flake8_plugin",
            "logitlint.pytest_plugin",
        ),
    ),
]

# What a rule module may import, even for type annotations only: the rule API, its siblings and
# the leaf value types. Never the evaluator, flow, the module context, the project or the engine.
RULE_MAY_IMPORT = (
    "logitlint.rules",
    "logitlint.rules.*",
    "logitlint.diagnostics",
    "logitlint.outline",
    "logitlint.analysis",
    "logitlint.analysis.syntax",
    "logitlint.analysis.torchapi",
    "logitlint.analysis.values",
    "logitlint.analysis.losses",  # LossCall, the argument of LossRule.check
)
RULE_API = ("logitlint.rules.context", "logitlint.rules.base", "logitlint.rules")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted((SRC / "logitlint").rglob("*.py"))}


def layer_of(module: str) -> int | None:
    best: tuple[int, int] | None = None  # (specificity, layer)
    for index, (_, patterns) in enumerate(LAYERS):
        for pattern in patterns:
            if fnmatch.fnmatchcase(module, pattern):
                specificity = len(pattern) if "*" not in pattern else len(pattern) - 100
                if best is None or specificity > best[0]:
                    best = (specificity, index)
    return None if best is None else best[1]


def imports(module: str) -> list[tuple[str, int, bool]]:
    """(imported project module, line, only for type checking) for every import in the module."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(inner) for inner in ast.walk(node))
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.append((name, node.lineno, id(node) in typing_only))
    return found


def test_every_module_has_a_layer():
    unplaced = [module for module in MODULES if layer_of(module) is None]
    assert not unplaced, f"place these modules in LAYERS (tests/test_layers.py, docs/architecture.md): {unplaced}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_the_layers(module):
    mine = layer_of(module)
    wrong = [
        f"line {line}: {name} ({LAYERS[layer_of(name)][0]})"
        for name, line, typing_only in imports(module)
        if not typing_only and layer_of(name) is not None and mine is not None and layer_of(name) > mine
    ]
    assert not wrong, f"{module} ({LAYERS[mine][0]}) imports upwards: {wrong}"


def test_no_import_cycle():
    graph = {module: {name for name, _, typing_only in imports(module) if not typing_only} for module in MODULES}
    cycles = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    # A package's __init__ importing its own submodules is not a cycle of the design.
    cycles = [c for c in cycles if not all(m.startswith(c[0] + ".") or m == c[0] for m in c)]
    assert not cycles, f"import cycles: {[' -> '.join(c) for c in cycles]}"


RULE_MODULES = [m for m in MODULES if fnmatch.fnmatchcase(m, "logitlint.rules.*") and m not in RULE_API]


@pytest.mark.parametrize("module", RULE_MODULES)
def test_rules_see_only_the_rule_api(module):
    wrong = [
        f"line {line}: {name}"
        for name, line, _ in imports(module)
        if not any(fnmatch.fnmatchcase(name, pattern) for pattern in RULE_MAY_IMPORT)
    ]
    assert not wrong, f"{module} reaches past the rule API: {wrong}"


def test_the_layer_check_sees_an_upward_import(tmp_path, monkeypatch):
    """The check itself: an evaluator module importing the engine is reported."""
    fake = tmp_path / "evaluate.py"
    fake.write_text("from logitlint.engine import check_source\n", encoding="utf-8")
    monkeypatch.setitem(MODULES, "logitlint.analysis.evaluate", fake)
    with pytest.raises(AssertionError, match="imports upwards"):
        test_imports_go_down_the_layers("logitlint.analysis.evaluate")


MAX_FUNCTION_LINES = 80


def test_no_function_is_longer_than_a_screen():
    """Functions stay readable at a glance (declarative tables are module-level data, not functions)."""
    long = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{module}.{node.name} (line {node.lineno}): {length} lines")
    assert not long, f"split these functions (at most {MAX_FUNCTION_LINES} lines): {long}"
