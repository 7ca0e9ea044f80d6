"""The package structure (issue 14, item 1): no import circle anywhere in ``src/zenpro``
(imports inside functions count: they only hide a circle), and ``kit/`` is domain-free
(it imports nothing of zenpro outside ``kit/``)."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path, package: str) -> set[str]:
    """Every module of ``package`` that ``path`` imports, at any depth of its code, except
    under ``if TYPE_CHECKING:`` (types only, never executed)."""
    tree = ast.parse(path.read_text("utf-8"))
    here = module_name(path, root)
    is_pkg = path.name == "__init__.py"
    found: set[str] = set()
    skip = {id(n) for n in ast.walk(tree) if _is_type_checking_block(n) for n in ast.walk(n)}
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, here, is_pkg)
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return {m for m in found if m == package or m.startswith(package + ".")}


def _is_type_checking_block(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and node.test.id == "TYPE_CHECKING"
    )


def _absolute(node: ast.ImportFrom, here: str, is_pkg: bool) -> str:
    if not node.level:
        return node.module or ""
    parts = here.split(".")
    parts = parts if is_pkg else parts[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join([*parts, node.module] if node.module else parts)


def graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module → the modules of the package it imports (names that are not modules, such
    as ``from zenpro.x import name``, resolve to their module)."""
    files = {module_name(p, root): p for p in (root / package).rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for mod, path in files.items():
        targets = set()
        for imp in imports_of(path, root, package):
            while imp not in files and "." in imp:
                imp = imp.rsplit(".", 1)[0]
            if imp in files and imp != mod and not mod.startswith(imp + "."):
                # importing one's own package __init__ from inside is not a circle of code
                targets.add(imp)
        edges[mod] = targets
    return edges


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
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

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def outside_kit(edges: dict[str, set[str]], package: str) -> list[tuple[str, str]]:
    kit = f"{package}.kit"
    return sorted(
        (m, t)
        for m, targets in edges.items()
        if m == kit or m.startswith(kit + ".")
        for t in targets
        if not (t == kit or t.startswith(kit + "."))
    )


def _write(root: Path, files: Iterable[tuple[str, str]]) -> None:
    for rel, text in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")


def test_no_import_circle_in_zenpro() -> None:
    assert circles(graph(SRC, "zenpro")) == []


def test_kit_imports_only_kit() -> None:
    assert outside_kit(graph(SRC, "zenpro"), "zenpro") == []


def test_a_planted_circle_is_found_even_inside_a_function(tmp_path: Path) -> None:
    _write(
        tmp_path,
        [
            ("pkg/__init__.py", ""),
            ("pkg/a.py", "from pkg.b import x\n"),
            ("pkg/b.py", "x = 1\n\ndef late():\n    from pkg import a\n    return a\n"),
            ("pkg/kit/__init__.py", ""),
            ("pkg/kit/low.py", "from pkg.a import x\n"),
            (
                "pkg/typed.py",
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import x\n",
            ),
        ],
    )
    edges = graph(tmp_path, "pkg")
    assert circles(edges) == [["pkg.a", "pkg.b"]]
    assert outside_kit(edges, "pkg") == [("pkg.kit.low", "pkg.a")]
    assert edges["pkg.typed"] == set()  # a type-only import is not a circle
