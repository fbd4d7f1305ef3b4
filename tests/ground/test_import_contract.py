"""The ground knows only what the link delivered: it never imports world, fsw or sim."""

import ast
import subprocess
import sys
from pathlib import Path

import touchdown.ground

FORBIDDEN = ("touchdown.world", "touchdown.fsw", "touchdown.sim")
GROUND = Path(touchdown.ground.__file__).parent


def test_ground_sources_import_nothing_from_world_fsw_or_sim():
    found = []
    for path in [*sorted(GROUND.glob("*.py")), GROUND.parent / "cli" / "ground.py"]:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.name}: {n}" for n in names if n.startswith(FORBIDDEN)]
    assert found == []


def test_importing_the_ground_loads_no_world_fsw_or_sim_module():
    code = ("import sys, touchdown.ground.server, touchdown.cli.ground; "
            f"print(' '.join(m for m in sys.modules if m.startswith({FORBIDDEN!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""
