"""The package layout: module-level imports run one way, in the order the package docstring lists."""

import ast
from pathlib import Path

import layerwise

ROOT = Path(layerwise.__file__).parent
ORDER = ["errors", "_checks", "_compile", "_version", "limits", "ops", "layers", "engine", "preprocessing", "optim",
         "io", "distributed", "train", "inspect", "interop", "data", "cli"]


def module_imports():
    """(module, imported module) for every relative import at the top level of a module of the package."""
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        package = parts[:-1]
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[: len(package) - node.level + 1]
                target = base + (node.module.split(".") if node.module else [])
                submodules = [target + [alias.name] for alias in node.names
                              if (ROOT.joinpath(*target, alias.name + ".py")).exists()]
                yield from ((parts, module) for module in submodules or [target])


def rank(parts):
    return ORDER.index(parts[0]) if parts and parts[0] in ORDER else None


def test_every_subpackage_is_placed_in_the_documented_order():
    top = {path.relative_to(ROOT).parts[0].removesuffix(".py") for path in ROOT.rglob("*.py")}
    assert top - {"__init__", "__main__"} == set(ORDER)
    text = layerwise.__doc__
    assert [name for name in ORDER if name not in text] == []


def test_module_level_imports_never_go_upward():
    upward = [(".".join(source), ".".join(target)) for source, target in module_imports()
              if rank(source) is not None and rank(target) is not None and rank(target) > rank(source)]
    assert upward == []


def test_there_is_no_import_circle_between_modules():
    graph = {}
    for source, target in module_imports():
        graph.setdefault(".".join(source), set()).add(".".join(target))
    seen, active = set(), []

    def visit(node):
        if node in active:
            raise AssertionError("import circle: " + " -> ".join(active[active.index(node):] + [node]))
        if node in seen:
            return
        active.append(node)
        for child in graph.get(node, ()):
            if child in graph or child + ".__init__" in graph:
                visit(child if child in graph else child + ".__init__")
        active.pop()
        seen.add(node)

    for node in list(graph):
        visit(node)
