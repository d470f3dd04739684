"""The code layout's rules: imports run one way, packages meet at their public API, modules
stay readable, and the dbt project stands on its own."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "orchestration"

LAYERS = {
    "settings": 0,
    "sql": 1,
    "state": 1,
    "standards": 1,
    "project": 1,
    "governance": 1,
    "faults": 1,
    "lease": 1,
    "incremental": 1,
    "contracts": 2,
    "ingest": 2,
    "linkage": 2,
    "privacy": 2,
    "quality": 2,
    "publish": 2,
    "generator": 2,
    "alerts": 2,
    "lineage": 2,
    "portal": 2,
    "openlineage": 2,
    "catalogue": 2,
    "defs": 3,
    "definitions": 3,
    "runner": 4,
    "progress": 1,
    "cli": 5,
    "bench": 5,
}
"""Each top-level part of ``orchestration`` and its layer: a module imports only from its own
layer or lower ones (CLI and benchmarks -> runner -> defs -> domain packages -> settings)."""

DOMAIN_PACKAGES = {"contracts", "ingest", "linkage", "privacy", "quality", "generator"}

MAX_LINES = 500
LONG_MODULE_REASON = "Longer than 500 lines because"


@dataclass(frozen=True)
class Import:
    """One ``import orchestration...`` or ``from orchestration... import`` statement."""

    path: Path
    line: int
    module: str
    names: tuple[str, ...]
    in_function: bool


def _imports(path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.ImportFrom) and (child.module or "").startswith(
                "orchestration"
            ):
                names = tuple(a.name for a in child.names)
                found.append(Import(path, child.lineno, child.module, names, in_function))
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("orchestration"):
                        found.append(Import(path, child.lineno, alias.name, (), in_function))
            visit(child, inside)

    visit(tree, False)
    return found


def _part(module: str) -> str:
    """The top-level part of ``orchestration`` a dotted module belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _module_of(path: Path) -> str:
    relative = path.relative_to(REPO).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_part_of_the_package_has_a_layer():
    parts = {_part(_module_of(p)) for p in _sources()} - {""}
    assert parts <= set(LAYERS), f"give these a layer in LAYERS: {sorted(parts - set(LAYERS))}"


def test_imports_never_run_from_a_lower_layer_to_a_higher_one():
    upward = []
    for path in _sources():
        here = _part(_module_of(path))
        if not here:
            continue
        for imp in _imports(path):
            there = _part(imp.module)
            if there and LAYERS[there] > LAYERS[here]:
                upward.append(f"{path.relative_to(REPO)}:{imp.line} {here} imports {imp.module}")
    assert not upward, "imports run upward:\n" + "\n".join(upward)


def test_packages_meet_only_at_public_names():
    """Another package's private (underscore) modules and names are never imported."""
    private = []
    for path in _sources():
        here = _part(_module_of(path))
        for imp in _imports(path):
            if _part(imp.module) == here:
                continue
            hidden = [p for p in imp.module.split(".") if p.startswith("_")]
            hidden += [n for n in imp.names if n.startswith("_")]
            if hidden:
                private.append(f"{path.relative_to(REPO)}:{imp.line} {imp.module} {hidden}")
    assert not private, "private names imported across packages:\n" + "\n".join(private)


def test_domain_packages_are_imported_through_their_public_api():
    """Product code outside a domain package names it (or its public modules), never reaches
    into a module's private helpers; and every domain package documents its API."""
    for name in DOMAIN_PACKAGES:
        init = PACKAGE / name / "__init__.py"
        assert init.exists(), f"{name} is not a package"
        assert ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), name


def test_imports_inside_functions_say_why():
    """An internal import inside a function is a deliberate deferral (start-up time, or a
    benchmark stage's memory) and says so: a ``deferred`` comment on its line or just above
    it, or a module docstring that says its imports are deferred and why."""
    hidden = []
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        if "imports are deferred" in (ast.get_docstring(ast.parse(text)) or "").lower():
            continue
        lines = text.splitlines()
        for imp in _imports(path):
            if not imp.in_function:
                continue
            around = " ".join(lines[max(0, imp.line - 4) : imp.line]).lower()
            if "deferred" not in around:
                hidden.append(f"{path.relative_to(REPO)}:{imp.line} {imp.module}")
    assert not hidden, "imports hidden inside functions without a reason:\n" + "\n".join(hidden)


def test_no_module_is_longer_than_500_lines_without_a_stated_reason():
    long = []
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        doc = ast.get_docstring(ast.parse(text)) or ""
        if lines > MAX_LINES and LONG_MODULE_REASON not in doc:
            long.append(f"{path.relative_to(REPO)}: {lines} lines")
    assert not long, "modules over 500 lines:\n" + "\n".join(long)


def test_the_dbt_project_does_not_import_the_orchestration_package():
    pattern = re.compile(r"^\s*(from|import)\s+orchestration\b", re.MULTILINE)
    offenders = [
        str(p.relative_to(REPO))
        for p in (REPO / "dbt_project").rglob("*.py")
        if "target" not in p.parts and pattern.search(p.read_text(encoding="utf-8"))
    ]
    assert not offenders, offenders


def test_the_layout_rules_catch_an_upward_import(tmp_path):
    """The import walker sees imports at any depth, so the rules above can fail."""
    module = tmp_path / "sample.py"
    module.write_text(
        "from orchestration.settings import get_settings\n"
        "def f():\n"
        "    from orchestration.cli import app\n",
        encoding="utf-8",
    )
    found = _imports(module)
    assert [(i.module, i.in_function) for i in found] == [
        ("orchestration.settings", False),
        ("orchestration.cli", True),
    ]
