"""No import cycle between laneboard's modules.

Why: the layer contracts (`lint-imports`) keep whole packages stacked, but a cycle inside
a layer (lanes/factory.py <-> lanes/supervisor.py, the old preflight trio, tui/app.py <->
tui/commands.py) passes them and still means neither module can be understood, imported or
tested without the other. Three such cycles were removed in issue #13; this keeps them gone.

The graph is grimp's (import-linter already installs it), built from the source, with every
import: module-level, function-level and `if TYPE_CHECKING:` ones. Anyone can run the same
check by hand:

    .venv/bin/python -c "import grimp; g = grimp.build_graph('laneboard', cache_dir=None); \
print(g.find_shortest_chain('laneboard.lanes.factory', 'laneboard.lanes.supervisor'))"

or this test: `.venv/bin/python -m pytest tests/test_import_graph.py -q -p no:cacheprovider`,
which prints every strongly connected set of modules (each is a cycle) and one cycle in it.
"""

from __future__ import annotations

import grimp
from grimp import ImportGraph


def cycles(graph: ImportGraph) -> list[list[str]]:
    """The strongly connected sets of two or more modules (Tarjan, iterative: the graph
    has ~180 modules and import chains deeper than Python's default recursion limit are
    possible)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = []
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        work.append((root, sorted(graph.find_modules_directly_imported_by(root))))
        while work:
            v, todo = work[-1]
            if todo:
                w = todo.pop()
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, sorted(graph.find_modules_directly_imported_by(w))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
            if low[v] == index[v]:
                comp: list[str] = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def _explain(graph: ImportGraph, comp: list[str]) -> str:
    a, b = comp[0], comp[1]
    there = graph.find_shortest_chain(importer=a, imported=b) or ()
    back = graph.find_shortest_chain(importer=b, imported=a) or ()
    return f"{sorted(comp)}\n    {' -> '.join(there)}\n    {' -> '.join(back)}"


def test_laneboard_has_no_import_cycle() -> None:
    graph = grimp.build_graph("laneboard", cache_dir=None)
    assert len(graph.modules) > 100  # the whole package was read, not an empty graph
    found = cycles(graph)
    assert not found, "import cycles in laneboard:\n" + "\n".join(
        _explain(graph, c) for c in found
    )


def test_the_finder_sees_a_cycle() -> None:
    """The finder itself: a three-module loop and a self-contained chain."""
    graph = ImportGraph()
    for importer, imported in [("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")]:
        graph.add_import(importer=importer, imported=imported)
    assert cycles(graph) == [["p.a", "p.b", "p.c"]]
    graph.remove_import(importer="p.c", imported="p.a")
    assert cycles(graph) == []
