"""The package's layers: no import cycles and no import from a higher layer.

Every import of a ``lola_sym`` module counts, including the ones inside
functions. The layers, bottom to top, are :data:`LAYERS`; a module may import
its own layer (without cycles) and the layers below it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "lola_sym"

#: bottom to top: (layer name, module prefixes). The first matching prefix wins.
LAYERS = (
    ("base", ("lola_sym._validation", "lola_sym._version", "lola_sym.program")),
    ("compile", ("lola_sym.compile",)),
    ("games", ("lola_sym.games",)),
    ("rules", ("lola_sym.rules",)),
    ("core", ("lola_sym.field", "lola_sym._exact_input", "lola_sym.adjoint")),
    ("analysis, dynamics, sampling", ("lola_sym.analysis", "lola_sym.dynamics",
                                      "lola_sym.sampling")),
    ("sweep", ("lola_sym.sweep",)),
    ("report", ("lola_sym.report",)),
    ("cli", ("lola_sym.cli",)),
    ("package", ("lola_sym",)),
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _layer(module: str) -> int:
    best, best_len = None, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best_len:
                best, best_len = i, len(p)
    assert best is not None, f"{module} is in no layer; add it to LAYERS"
    return best


def _resolve(name: str) -> str | None:
    """The lola_sym module an import names (the longest existing prefix)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str) -> set:
    """The lola_sym modules ``module`` imports anywhere in its body."""
    tree = ast.parse(MODULES[module].read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        else:
            continue
        for n in names:
            if n.startswith("lola_sym"):
                target = _resolve(n)
                if target and target != module:
                    out.add(target)
    # every import runs the package root first; it is not a dependency of the module
    out.discard("lola_sym")
    return out


GRAPH = {m: imports(m) for m in MODULES}


def test_every_module_has_a_layer():
    for m in MODULES:
        _layer(m)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "lola_sym"))
def test_no_import_from_a_higher_layer(module):
    mine = _layer(module)
    up = sorted(t for t in GRAPH[module] if _layer(t) > mine)
    assert not up, (f"{module} (layer {LAYERS[mine][0]!r}) imports from higher layers: "
                    + ", ".join(f"{t} ({LAYERS[_layer(t)][0]})" for t in up))


def test_no_import_cycles():
    """Tarjan's strongly connected components of the import graph are all single modules."""
    index, low, stack, on, cycles = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in GRAPH.get(v, ()):
            if w not in GRAPH:
                continue
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
                cycles.append(sorted(comp))
    for m in sorted(GRAPH):
        if m not in index:
            visit(m)
    assert not cycles, f"import cycles: {cycles}"


def test_the_checker_sees_imports_inside_functions():
    """A check that cannot fail is a defect: the field module's function-level imports count."""
    assert "lola_sym.compile.cached" in GRAPH["lola_sym.field"]
    assert "lola_sym.games.values" in GRAPH["lola_sym.field"]        # inside forget_compiled
