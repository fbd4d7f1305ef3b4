"""The seams between the rooms, read from the source (AST over ``src/touchdown/**/*.py``).

Every import counts: at module level, inside functions (lazy) and under ``TYPE_CHECKING``
(a type is a dependency too), except that cycles and what a module loads ignore the
``TYPE_CHECKING`` ones (they never run). ``from touchdown.a import b`` is an import of the
module ``touchdown.a.b`` when there is one, else of ``touchdown.a``. Each failure prints its
violations as ``module -> imported module``.

The picture, bottom to top (``LAYERS``): a package imports only from its own layer or lower
ones. On top of it:

- compiled modules (those importing ``touchdown._compile``) import only math, numpy, numba,
  ``touchdown._compile``, other compiled modules and the declarations (``DECLARATIONS``);
- the flight software and the world never import each other;
- the ground (and ``touchdown ground``) never imports, nor loads through anything it imports,
  the world, the flight software, the simulation or the report; the investigation
  (``report.received``, ``.track``, ``.findings``) never loads the world, the flight software
  or the simulation;
- the command line: each command module (one defining a click command) is imported by
  ``cli/__init__`` alone; the others (helpers: ``cli/common``, ``cli/serving``,
  ``cli/summary``) import no command module; nothing below ``cli`` imports it;
- no import cycle between modules;
- every exception class is declared in ``errors.py``.
"""

from __future__ import annotations

import ast
import builtins
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

import touchdown

SRC = Path(touchdown.__file__).parent

LAYERS: dict[int, tuple[str, ...]] = {  # bottom -> top: top-level packages and modules
    0: ("_compile", "errors", "files", "timefmt", "seeds", "core"),  # declarations, utilities
    1: ("moon", "lcvx"),  # the Moon; powered-descent optimisation (any planet, numbers in)
    2: ("world", "fsw"),
    # the simulation, its inputs, the lander's link (dictionary, packets, frames, uplink: a
    # scenario's command timeline is checked against the command dictionary and takes the
    # uplink's path) and the drawings (a run folder holds the flight's figure)
    3: ("sim", "scenario", "parameters", "telemetry", "plots"),
    4: ("ground", "campaign"),
    5: ("report", "library"),  # reads the ground's archive, reruns a campaign sample
    6: ("cli", "__main__"),  # `python -m touchdown` is the command
}
LAYER = {name: level for level, names in LAYERS.items() for name in names}

COMPILED_MAY_IMPORT = ("math", "numpy", "numba", "__future__", "touchdown._compile")
DECLARATIONS = ("touchdown.core.layout", "touchdown.core.bundles", "touchdown.moon.constants")
NEVER = {  # package -> packages it may not import, though the picture would allow it
    "fsw": ("world",),
    "world": ("fsw",),
}
BLIND = {  # modules (prefixes) -> what they may not load, directly or through others
    "touchdown.ground": ("touchdown.world", "touchdown.fsw", "touchdown.sim", "touchdown.report"),
    "touchdown.cli.ground": ("touchdown.world", "touchdown.fsw", "touchdown.sim",
                             "touchdown.report"),
    "touchdown.report.received": ("touchdown.world", "touchdown.fsw", "touchdown.sim"),
    "touchdown.report.track": ("touchdown.world", "touchdown.fsw", "touchdown.sim"),
    "touchdown.report.findings": ("touchdown.world", "touchdown.fsw", "touchdown.sim"),
    # the onboard optimiser solves from the flight software's state, never the world's
    "touchdown.sim.optimal": ("touchdown.world", "touchdown.sim.run", "touchdown.sim.step"),
}


@dataclass(frozen=True)
class Import:
    target: str  # a module, or a third-party / standard library name
    lazy: bool  # inside a function
    typing_only: bool  # under ``if TYPE_CHECKING:``


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _resolve(module: str, name: str) -> str:
    """``from module import name``: the submodule when there is one, else the module."""
    sub = f"{module}.{name}"
    return sub if sub in modules() else module


def _walk(node: ast.AST, lazy: bool, typing_only: bool) -> Iterator[Import]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import):
            yield from (Import(a.name, lazy, typing_only) for a in child.names)
        elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
            for a in child.names:
                yield Import(_resolve(child.module, a.name), lazy, typing_only)
        elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
            for stmt in child.body:
                yield from _walk(ast.Module([stmt], []), lazy, True)
            for stmt in child.orelse:
                yield from _walk(ast.Module([stmt], []), lazy, typing_only)
        else:
            inner = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            yield from _walk(child, lazy or inner, typing_only)


@cache
def imports() -> dict[str, tuple[Import, ...]]:
    """Every module's imports (duplicates dropped)."""
    return {m: tuple(dict.fromkeys(_walk(ast.parse(p.read_text("utf-8")), False, False)))
            for m, p in modules().items()}


def _ours(target: str) -> bool:
    return target == "touchdown" or target.startswith("touchdown.")


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _runtime_graph() -> dict[str, set[str]]:
    return {m: {i.target for i in imps if _ours(i.target) and not i.typing_only}
            for m, imps in imports().items()}


def _report(title: str, violations: list[str]) -> str:
    text = f"{title}:\n" + "\n".join(f"  {v}" for v in violations)
    print(text)
    return text


def _edges() -> Iterator[tuple[str, str]]:
    for m, imps in imports().items():
        for i in imps:
            if _ours(i.target):
                yield m, i.target


# ---------------------------------------------------------------- the picture

def test_every_package_has_a_layer():
    packages = {_package(m) for m in modules()} - {""}
    assert packages <= LAYER.keys(), f"give these a layer: {sorted(packages - LAYER.keys())}"


def test_each_package_imports_only_its_own_layer_or_lower():
    bad = [f"{m} -> {t}" for m, t in _edges()
           if _package(t) and LAYER[_package(t)] > LAYER[_package(m)]]
    assert bad == [], _report("imports from a higher layer", bad)


def test_the_flight_software_and_the_world_never_import_each_other():
    bad = [f"{m} -> {t}" for m, t in _edges() if _package(t) in NEVER.get(_package(m), ())]
    assert bad == [], _report("fsw <-> world", bad)


def test_compiled_modules_import_only_math_numpy_numba_and_compiled_code():
    compiled = {m for m, imps in imports().items()
                if any(i.target == "touchdown._compile" for i in imps)}
    allowed = compiled | set(DECLARATIONS)

    def ok(target: str) -> bool:
        return target in allowed or any(target == a or target.startswith(a + ".")
                                        for a in COMPILED_MAY_IMPORT)

    bad = [f"{m} -> {i.target}" for m in sorted(compiled) for i in imports()[m]
           if not ok(i.target)]
    assert bad == [], _report("compiled modules importing beyond their diet", bad)


# ---------------------------------------------------------------- what a room may see

def _loads(start: str, graph: dict[str, set[str]]) -> dict[str, str]:
    """Every module ``start`` loads (lazy imports included), each with the module importing it."""
    seen, todo = {start: ""}, [start]
    while todo:
        m = todo.pop()
        for t in sorted(graph.get(m, ())):
            if t not in seen:
                seen[t] = m
                todo.append(t)
    return seen


def test_the_ground_the_investigation_and_the_optimiser_never_load_what_they_must_not_see():
    graph = _runtime_graph()
    bad = []
    for prefix, forbidden in BLIND.items():
        for start in (m for m in modules() if m == prefix or m.startswith(prefix + ".")):
            for t, via in _loads(start, graph).items():
                if t.startswith(forbidden):
                    bad.append(f"{via} -> {t}" + (f" (loaded by {start})" if via != start else ""))
    assert bad == [], _report("the ground or the investigation sees too much", sorted(set(bad)))


@pytest.mark.parametrize("loaded", [
    ("touchdown.ground.server", "touchdown.cli.ground"),
    ("touchdown.report.received", "touchdown.report.track", "touchdown.report.findings"),
])
def test_importing_them_loads_no_world_fsw_or_sim_module(loaded):
    """The same, at run time: what Python actually loads."""
    forbidden = ("touchdown.world", "touchdown.fsw", "touchdown.sim")
    code = (f"import sys; [__import__(m) for m in {loaded!r}]; "
            f"print(' '.join(m for m in sys.modules if m.startswith({forbidden!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""


# ---------------------------------------------------------------- the command line

def _defines_a_command(module: str) -> bool:
    tree = ast.parse(modules()[module].read_text("utf-8"))
    return any(isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute | ast.Name)
               and (d.func.attr if isinstance(d.func, ast.Attribute) else d.func.id)
               in ("command", "group")
               for f in tree.body if isinstance(f, ast.FunctionDef) for d in f.decorator_list)


def test_cli_commands_are_imported_by_cli_init_alone():
    cli = [m for m in modules() if _package(m) == "cli" and m != "touchdown.cli"]
    commands = {m for m in cli if _defines_a_command(m)}
    assert commands and set(cli) - commands, "expected command and helper modules"
    bad = [f"{m} -> {t}" for m, t in _edges() if t in commands and m != "touchdown.cli"]
    assert bad == [], _report("command modules are for cli/__init__ only", bad)


# ---------------------------------------------------------------- cycles

def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module."""
    reach = {m: set(_loads(m, graph)) - {m} for m in graph}
    components = {frozenset(n for n in reach[m] if m in reach[n]) | {m} for m in graph}
    return sorted(sorted(c) for c in components if len(c) > 1)


def test_no_import_cycles():
    graph = _runtime_graph()
    bad = [" <-> ".join(c) + ": " + ", ".join(f"{m} -> {t}" for m in c for t in sorted(graph[m])
                                             if t in c)
           for c in _cycles(graph)]
    assert bad == [], _report("import cycles (strongly connected components)", bad)


def test_the_cycle_finder_finds_one():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def _exception_classes(module: str) -> Iterator[str]:
    """Classes a module defines that derive (by name) from an exception class."""
    known = {name for name, obj in vars(builtins).items()
             if isinstance(obj, type) and issubclass(obj, BaseException)}
    tree = ast.parse(modules()[module].read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")
                     for b in node.bases}
            if bases & known or any(b.endswith(("Error", "Exception")) for b in bases):
                yield node.name


def test_every_exception_class_is_declared_in_errors():
    bad = [f"{m}.{c}" for m in modules() if m != "touchdown.errors"
           for c in _exception_classes(m)]
    assert bad == [], _report("exception classes outside touchdown/errors.py", bad)
    assert list(_exception_classes("touchdown.errors"))  # the checker finds them there
