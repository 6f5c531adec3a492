"""The layout reads as the road: every stage imports only the stages before it, no circles.

source -> article -> passages -> vectors -> index -> hits -> answer -> reply, as packages:
records and settings (plain data), the text tools, sources, storage, indexing, retrieval,
answering, core, then the front ends. Read from the source files; nothing is imported to check it.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "quotebot"

LAYERS = [
    {"records", "settings", "durations"},
    {"text"},
    {"sources"},
    {"embedding"},
    {"storage"},
    {"botstate"},
    {"indexing"},
    {"feeds"},
    {"retrieval"},
    {"answering"},
    {"core"},
    {"evaluation"},
    {"terminal"},
    {"telegram", "cli", "cli_common", "cli_feeds", "cli_index", "__main__", "__init__"},
]
FRONT_ENDS = {"terminal", "telegram", "cli", "cli_common", "cli_feeds", "cli_index"}
"""They reach the stages through the core only (records and settings aside)."""


def _stage(module: str) -> str:
    """The top-level part of quotebot a module belongs to: quotebot.storage.dense -> storage."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _layer(stage: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if stage in layer)


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(path: Path, module: str, *, top_level_only: bool) -> set[str]:
    """The quotebot modules a file imports (``from quotebot.x import y``: quotebot.x.y when
    that is a module, else quotebot.x)."""
    modules = _modules()
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.If) and top_level_only:  # `if TYPE_CHECKING:` imports
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("quotebot"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not node.module.startswith("quotebot"):
                continue
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                found.add(name if name in modules else node.module)
    found.discard(module)
    return found


def test_no_stage_imports_one_after_it() -> None:
    wrong = []
    for module, path in _modules().items():
        stage = _stage(module)
        for imported in _imports(path, module, top_level_only=False):
            if imported == "quotebot":
                continue
            if _layer(_stage(imported)) > _layer(stage):
                wrong.append(f"{module} imports {imported}")
    assert not wrong, "\n".join(wrong)


def test_front_ends_go_through_the_core() -> None:
    allowed = {"core", "records", "settings", "evaluation", *FRONT_ENDS}
    wrong = [
        f"{module} imports {imported}"
        for module, path in _modules().items()
        if _stage(module) in FRONT_ENDS
        for imported in _imports(path, module, top_level_only=False)
        if _stage(imported) not in allowed
    ]
    assert not wrong, "\n".join(wrong)


def test_no_import_circles() -> None:
    graph = {m: _imports(p, m, top_level_only=True) for m, p in _modules().items()}
    graph = {m: {i for i in deps if i in graph} for m, deps in graph.items()}
    state: dict[str, int] = {}  # 1: on the path being walked, 2: done

    def walk(module: str, path: list[str]) -> list[str] | None:
        state[module] = 1
        for nxt in sorted(graph[module]):
            if state.get(nxt) == 1:
                return [*path, module, nxt]
            if nxt not in state and (circle := walk(nxt, [*path, module])):
                return circle
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state:
            circle = walk(module, [])
            assert circle is None, " -> ".join(circle)


def test_benchmarks_are_not_in_the_runtime_package() -> None:
    assert not any("bench" in path.name for path in PACKAGE.rglob("*.py"))
