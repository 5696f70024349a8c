"""The layer rule (docs/architecture.md): xgap's packages form a stack, and an import may only point
down the stack or within its own layer; the module import graph has no cycles.

Both are checked on the source (``ast``), function-level imports included, so a lazy import cannot
hide an upward arrow. The layer list below is the one place that says which layer a module is in.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "xgap"

#: Bottom to top. A module belongs to the first layer with a matching prefix (longest prefix wins).
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("xgap", "xgap.errors", "xgap.yamlio", "xgap.resources", "xgap.argtypes", "xgap.progress", "xgap.settings",
              "xgap.provenance")),
    ("config", ("xgap.validation", "xgap.cards")),
    ("metrics", ("xgap.metrics",)),
    ("records", ("xgap.store", "xgap.record", "xgap.manifest", "xgap.documents")),
    ("data", ("xgap.data",)),
    ("modeling", ("xgap.modeling",)),
    ("formats", ("xgap.formats", "xgap.scoring", "xgap.export")),
    ("training", ("xgap.training",)),
    ("harness", ("xgap.harness", "xgap.submit")),
    ("experiments", ("xgap.grid", "xgap.compare", "xgap.reported")),
    ("site", ("xgap.leaderboard",)),
    ("commands", ("xgap.cli", "xgap.__main__", "xgap.commands", "xgap.demo", "xgap.training.commands", "xgap.grid.commands",
                  "xgap.leaderboard.commands")),
]


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    name = ".".join(rel.parts)
    return name[: -len(".__init__")] if name.endswith(".__init__") else name


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The xgap modules ``name`` imports anywhere in its body (``from a import b`` counts ``a.b`` when
    that is a module, else ``a``)."""
    base = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base.split(".")
                mod = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            subs = {f"{mod}.{a.name}" for a in node.names} & known
            found.update(subs or ({mod} & known))
    found.discard(name)
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def layer_of(module: str) -> int:
    best, best_len = None, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = i, len(prefix)
    assert best is not None, f"{module} is in no layer: add it to LAYERS in tests/test_layers.py"
    return best


def test_every_module_has_a_layer():
    for name in modules():
        layer_of(name)


def test_no_upward_imports():
    upward = []
    for src, targets in graph().items():
        for dst in targets:
            if layer_of(dst) > layer_of(src):
                upward.append(f"{src} ({LAYERS[layer_of(src)][0]}) -> {dst} ({LAYERS[layer_of(dst)][0]})")
    assert not upward, "imports pointing up the layer stack:\n" + "\n".join(sorted(upward))


def test_no_import_cycles():
    g = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_layer_rule_sees_lazy_imports(tmp_path):
    """The checker counts imports inside functions (torch-free modules import lazily)."""
    p = tmp_path / "m.py"
    p.write_text("def f():\n    from xgap.cli import main\n", encoding="utf-8")
    assert imports_of("xgap.x.m", p, {"xgap.cli"}) == {"xgap.cli"}
