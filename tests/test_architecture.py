"""The layering of ``planner/`` (docs/developing/architecture.md), checked from the source.

Every ``import`` counts, at module level or inside a function: an import inside a function
that closes a cycle is still a cycle. A name imported from a package (``from .. import
ranking``) is an edge to the submodule when one exists, else to the package itself.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "planner"

#: Modules that may import Flask (and its extensions): the interfaces and the wiring.
FLASK_ALLOWED = ("planner.web", "planner.cli", "planner.console", "planner.extensions",
                 "planner.models", "planner.migrations", "planner")
#: Plain domain modules: no Flask, no database session, no web, no CLI.
DOMAIN = ("planner.params", "planner.plan_json", "planner.fmt", "planner.ranking",
          "planner.travel", "planner.engine", "planner.maps", "planner.sheets",
          "planner.exports", "planner.plandiff", "planner.paths", "planner.daymessage",
          "planner.msg", "planner.network")
FORBIDDEN_FOR_DOMAIN = ("flask", "flask_babel", "flask_wtf", "flask_sqlalchemy",
                        "flask_migrate", "planner.web", "planner.cli", "planner.extensions",
                        "planner.models", "planner.repository", "planner.plan_store",
                        "planner.pipeline", "planner.jobs", "planner.field")


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts and "versions" in path.parts:
            continue
        out[module_name(path)] = path
    return out


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Every module ``name`` imports (absolute names; planner.* and third-party)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts)
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.add(sub if sub in known else target)
    return out


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    g = {}
    for name, path in mods.items():
        g[name] = {m for m in imports_of(name, path, known) if m in known and m != name}
    return g


def find_cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles_in_planner():
    cycles = find_cycles(graph())
    assert cycles == [], "import cycles: " + "; ".join(" ⇄ ".join(c) for c in cycles)


def test_the_cycle_check_finds_a_cycle():
    """The check itself can fail: a hand-made cycle is found."""
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_domain_modules_are_free_of_flask_and_persistence():
    mods = modules()
    known = set(mods)
    bad = defaultdict(list)
    for name, path in mods.items():
        if not any(name == d or name.startswith(d + ".") for d in DOMAIN):
            continue
        for imp in imports_of(name, path, known):
            if any(imp == f or imp.startswith(f + ".") for f in FORBIDDEN_FOR_DOMAIN):
                bad[name].append(imp)
    assert not bad, dict(bad)


def test_only_interfaces_import_flask():
    mods = modules()
    known = set(mods)
    bad = {}
    for name, path in mods.items():
        if any(name == a or name.startswith(a + ".") for a in FLASK_ALLOWED if a != "planner") \
                or name == "planner":
            continue
        flask = sorted(i for i in imports_of(name, path, known)
                       if i.split(".")[0] in {"flask", "flask_babel", "flask_wtf", "flask_login"})
        if flask:
            bad[name] = flask
    assert not bad, bad


def test_cli_lives_outside_web():
    assert (PACKAGE / "cli").is_dir()
    mods = modules()
    known = set(mods)
    for name, path in mods.items():
        if name.startswith("planner.web"):
            assert "click" not in imports_of(name, path, known), f"{name} defines CLI commands"
        if name.startswith("planner.cli"):
            assert not any(i.startswith("planner.web") for i in imports_of(name, path, known)), \
                f"{name} imports the web layer"
