"""The shape of the house, checked: imports go one way (flows -> tasks -> steps -> store / pure
rules -> models), there is no import cycle between modules or packages, the CLI holds no SQL,
nobody imports another module's private names, an import inside a function says why, and no
source file outgrows its seams. See ARCHITECTURE.md."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("arrears", "flows", "tasks", "models")

# Layers, bottom up: a module may import its own layer and the layers below, never above.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("models",),
    ("arrears", "arrears.money", "arrears.privacy", "arrears.settings", "arrears.secrets", "arrears.templating",
     "arrears.db", "arrears.faults"),
    ("arrears.engine", "arrears.guard", "arrears.policy", "arrears.planning", "arrears.cases", "arrears.messaging",
     "arrears.letters", "arrears.book", "arrears.reports", "arrears.vault"),
    ("arrears.store", "arrears.providers"),
    ("arrears.runtime",),
    ("arrears.steps",),
    ("tasks",),
    ("flows",),
    ("arrears.cli", "arrears.demo", "arrears.ops", "arrears.fakeprovider", "arrears.webhooks", "arrears.__main__",
     "arrears.forkserver"),
)  # fmt: skip
PURE = LAYERS[2]  # the rules: no database, no provider, no process pool
IO = ("arrears.store", "arrears.providers", "arrears.db", "arrears.runtime")


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported project module
    line: int
    names: tuple[str, ...]
    in_function: bool


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def project_modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found[module_name(path)] = path
    return found


MODULES = project_modules()


def resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test):
            skip |= {id(n) for n in ast.walk(node)}
    return skip


def imports_of(name: str, path: Path) -> Iterator[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    in_function = {
        id(sub)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for sub in ast.walk(node)
    }
    skip = _type_checking_nodes(tree)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            pairs = [(a.name, ()) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = tuple(a.name for a in node.names)
            pairs = [(f"{node.module}.{n}", ()) for n in names if resolve(f"{node.module}.{n}") == f"{node.module}.{n}"]
            pairs.append((node.module, names))
        else:
            continue
        for dotted, names in pairs:
            if dotted.split(".")[0] not in PACKAGES:
                continue
            target = resolve(dotted)
            if target is None or target == name:
                continue
            yield Import(name, target, node.lineno, names, id(node) in in_function)


IMPORTS = [imp for name, path in MODULES.items() for imp in imports_of(name, path)]


def layer_of(module: str) -> int:
    best, level = -1, -1
    for i, group in enumerate(LAYERS):
        for prefix in group:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, level = len(prefix), i
    assert level >= 0, f"{module} is in no layer of tests/test_architecture.py"
    return level


def package_of(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "arrears" and len(parts) > 1 and (ROOT / "arrears" / parts[1]).is_dir():
        return ".".join(parts[:2])
    return module if parts[0] == "arrears" else parts[0]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_a_module_that_imports_it_back():
    edges: dict[str, set[str]] = defaultdict(set)
    for imp in IMPORTS:
        edges[imp.source].add(imp.target)
    assert cycles(edges) == []


def test_no_package_imports_a_package_that_imports_it_back():
    edges: dict[str, set[str]] = defaultdict(set)
    for imp in IMPORTS:
        a, b = package_of(imp.source), package_of(imp.target)
        if a != b and not imp.in_function:
            edges[a].add(b)
    assert cycles(edges) == []


def test_imports_go_down_the_layers_never_up():
    upward = [
        f"{i.source}:{i.line} imports {i.target}" for i in IMPORTS if layer_of(i.target) > layer_of(i.source)
    ]
    assert upward == []


def test_the_rules_touch_no_database_no_provider_and_no_pool():
    pure = [i for i in IMPORTS if layer_of(i.source) == LAYERS.index(PURE)]
    offenders = [f"{i.source}:{i.line} imports {i.target}" for i in pure if i.target.startswith(IO)]
    assert offenders == []


def test_models_import_nothing_of_the_project_but_models():
    assert [i for i in IMPORTS if i.source.startswith("models") and not i.target.startswith("models")] == []


def test_no_module_imports_another_modules_private_names():
    private = [f"{i.source}:{i.line} {n}" for i in IMPORTS for n in i.names if n.startswith("_") and n != "__version__"]
    assert private == []


TOOL_MARKS = re.compile(r"#\s*(noqa(:\s*[A-Z0-9, ]+)?|type:\s*ignore(\[[^\]]*\])?)")


def _says_why(line: str) -> bool:
    comment = line.partition("#")[2] and "#" + line.partition("#")[2]
    return bool(re.search(r"[a-z]{3}", TOOL_MARKS.sub("", comment)))


def test_an_import_inside_a_function_says_why():
    """Only a process boundary or an optional heavy import justifies one; its line says which."""
    silent = []
    for name, path in MODULES.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for sub in ast.walk(node):
                if isinstance(sub, ast.Import | ast.ImportFrom) and not _says_why(lines[(sub.end_lineno or 1) - 1]):
                    silent.append(f"{name}:{sub.lineno}")
    assert silent == []


SQL = re.compile(r"\b(SELECT|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b")


@pytest.mark.parametrize("path", sorted((ROOT / "arrears" / "cli").glob("*.py")), ids=lambda p: p.name)
def test_the_cli_holds_no_sql_and_stays_small(path: Path):
    source = path.read_text(encoding="utf-8")
    assert not SQL.search(source), f"{path.name}: SQL belongs in arrears/store"
    assert "from sqlalchemy import text" not in source and "sqlalchemy import select" not in source
    assert len(source.splitlines()) <= 300


def test_no_source_file_is_over_400_lines():
    paths = [p for pkg in (*PACKAGES, "tests", "bench") for p in (ROOT / pkg).rglob("*.py")]
    long = {str(p.relative_to(ROOT)): n for p in paths if "migrations" not in p.parts
            and (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}  # fmt: skip
    assert long == {}
