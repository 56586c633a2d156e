"""The console is a deployable of its own: it reaches the services over gRPC only and imports
none of their packages (its image carries libs/ and services/console/, nothing else)."""

from __future__ import annotations

import ast
from pathlib import Path

CONSOLE = Path(__file__).resolve().parents[1]


def test_the_console_imports_no_other_service():
    found = []
    for path in CONSOLE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.relative_to(CONSOLE)}: {n}" for n in names
                      if n.startswith("services.") and not n.startswith("services.console")]
    assert found == []
