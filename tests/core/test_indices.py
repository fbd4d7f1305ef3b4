"""No hand-typed index into a layout-bearing array in the compiled modules.

What validates what: every compiled module (``src/touchdown/{core,moon,world,fsw,sim}/*.py``
that defines a ``@kernel`` function; ``sim/run.py``, a shell, is left out) is parsed with
``ast``, and each subscript of a layout-bearing array (by name, ``LAYOUT_BEARING``) is checked:
its index, each index of a tuple (``meta[k, TM_PIXEL]``) and each bound of a slice must come
from a declaration in ``core.layout``. Offending, and printed as ``file:line: expression``:

- an integer literal, or an expression of integer literals only (``work[3:6]``,
  ``meta[k, 5]``, ``work[0:128]``);
- a field constant plus a literal that leaves the field: ``fsw[F_X + 6]`` (F_X has 6 words;
  a slice's stop may reach the field's end, ``world[W_Q:W_Q + 4]``), or minus a literal;
- a literal stride (``groups[8 * g]``: use the record's size constant);
- an upper-case name plus or minus a literal when the name is not a field constant (an offset
  from something undeclared).

Allowed: a field constant plus a literal within the field (``fsw[F_X + 1]``, a named
component of a declared field), a field constant plus a variable (``fsw[F_X + i]``), a
lower-case variable plus a literal (``trace[k - 1, T_T]``: a row, not a column), and any
index of an array not named here (``r[0]``: a component of a local vector).
"""

import ast
import inspect
from pathlib import Path

import pytest

import touchdown
from touchdown.core import layout as st

SRC = Path(touchdown.__file__).parent
PACKAGES = ("core", "moon", "world", "fsw", "sim")
SHELLS = {"sim/run.py"}  # no kernels of its own: builds the arrays and calls the loop

# Arrays indexed through core.layout: the loop's arrays (world, wp = world params, fsw, fp =
# FSW params, meas, clock, trace and its rows), the terrain's layer table (meta), scratch
# (work), and the records declared there that kernels take views of: ll (LATLON), memo
# (MOON_TURN), cap (TERRAIN_BOX), grp and groups (THRUST_GROUP).
LAYOUT_BEARING = frozenset({"world", "wp", "fsw", "fp", "meas", "clock", "trace", "row",
                            "meta", "work", "ll", "memo", "cap", "grp", "groups"})


def _field_sizes():
    """{constant: words of its field} for every ``X = LAYOUT.add("f", n, ...)`` of core.layout."""
    sizes = {}
    for node in ast.parse(inspect.getsource(st)).body:
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Attribute)
                and node.value.func.attr == "add"):
            layout = getattr(st, node.value.func.value.id)
            sizes[node.targets[0].id] = layout.fields[node.value.args[0].value][1]
    return sizes


FIELD_SIZE = _field_sizes()


def _int(node):
    return (isinstance(node, ast.Constant) and isinstance(node.value, int)
            and not isinstance(node.value, bool))


def _literal_only(node):
    if _int(node):
        return True
    if isinstance(node, ast.UnaryOp):
        return _literal_only(node.operand)
    if isinstance(node, ast.BinOp):
        return _literal_only(node.left) and _literal_only(node.right)
    return False


def _name(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):  # st.W_TD
        return node.attr
    return None


def offence(expr, role="index"):
    """Why an index (role "index") or a slice bound ("start", "stop") is hand-typed, or None."""
    if _literal_only(expr):
        return "a literal index"
    for node in ast.walk(expr):
        if not isinstance(node, ast.BinOp):
            continue
        if isinstance(node.op, ast.Mult) and (_int(node.left) or _int(node.right)):
            return "a literal stride"
        if not isinstance(node.op, ast.Add | ast.Sub):
            continue
        if _int(node.right) and _name(node.left):
            name, n = _name(node.left), node.right.value
        elif _int(node.left) and _name(node.right) and isinstance(node.op, ast.Add):
            name, n = _name(node.right), node.left.value
        else:
            continue
        if name in FIELD_SIZE:
            if isinstance(node.op, ast.Sub) and n != 0:
                return f"below the field {name}"
            limit = FIELD_SIZE[name] + (1 if role == "stop" and node is expr else 0)
            if n >= limit:
                return f"past the field {name} ({FIELD_SIZE[name]} words)"
        elif name.isupper():
            return f"an offset from {name}, which is not a field"
    return None


# A bundle's fields (``core.bundles``) that hold layout-bearing arrays: ``fsw.state[F_MODE]``
# is checked, and so is a local bound to one (``w = world.state``).
BUNDLE_FIELDS = frozenset({"state", "params", "meas", "meta", "events", "trace"})


def _bundle_field(node):
    return isinstance(node, ast.Attribute) and node.attr in BUNDLE_FIELDS


def _bound_to_bundle_fields(tree):
    """Names a module binds to a bundle's layout-bearing field (``w, x = world.state, ...``)."""
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            pairs = [(target, node.value)]
            if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                pairs = list(zip(target.elts, node.value.elts, strict=False))
            names |= {t.id for t, v in pairs if isinstance(t, ast.Name) and _bundle_field(v)}
    return names


def offences(tree):
    """(line, expression, reason) for every hand-typed index of a layout-bearing array."""
    bearing = LAYOUT_BEARING | _bound_to_bundle_fields(tree)
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Subscript)
                and ((isinstance(node.value, ast.Name) and node.value.id in bearing)
                     or _bundle_field(node.value))):
            continue
        parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        for part in parts:
            if isinstance(part, ast.Slice):
                checks = [(part.lower, "start"), (part.upper, "stop")]
            else:
                checks = [(part, "index")]
            reasons = [offence(e, role) for e, role in checks if e is not None]
            reasons = [r for r in reasons if r]
            if reasons:
                found.append((node.lineno, ast.unparse(node), reasons[0]))
                break
    return sorted(set(found))


def _defines_kernel(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for dec in node.decorator_list:
                target = dec.func if isinstance(dec, ast.Call) else dec
                if isinstance(target, ast.Name) and target.id == "kernel":
                    return True
    return False


def compiled_modules():
    """Paths (relative to the package, e.g. ``world/dynamics.py``) of the compiled modules."""
    found = []
    for pkg in PACKAGES:
        for path in sorted((SRC / pkg).glob("*.py")):
            rel = f"{pkg}/{path.name}"
            if rel not in SHELLS and _defines_kernel(ast.parse(path.read_text())):
                found.append(rel)
    return found


MODULES = compiled_modules()


def test_the_compiled_modules_are_found():
    for rel in ("core/quaternion.py", "moon/terrain.py", "world/dynamics.py", "fsw/cycle.py",
                "sim/step.py"):
        assert rel in MODULES, rel
    assert "sim/run.py" not in MODULES


@pytest.mark.parametrize("rel", MODULES)
def test_no_hand_typed_index(rel):
    """Every index of a layout-bearing array comes from a declaration in core.layout."""
    path = SRC / rel
    bad = offences(ast.parse(path.read_text()))
    for line, expr, reason in bad:
        print(f"src/touchdown/{rel}:{line}: {expr}  ({reason})")
    assert not bad, f"{len(bad)} hand-typed indices in {rel} (listed above)"


@pytest.mark.parametrize(("source", "ok"), [
    ("r[0]", True),  # a component of a local vector
    ("work[3:6]", False),
    ("work[0:128]", False),
    ("work[128:N_WORK]", False),
    ("meta[k, 5]", False),
    ("meta[k, TM_PIXEL]", True),
    ("meta[k, -1]", False),
    ("fsw[F_X + 1]", True),
    ("fsw[F_X + 5]", True),
    ("fsw[F_X + 6]", False),
    ("fsw[F_X - 1]", False),
    ("fsw[F_X + i]", True),
    ("fsw[F_X + 3 + i]", True),
    ("fsw[1 + F_X]", True),
    ("world[W_Q:W_Q + 4]", True),
    ("world[W_Q:W_Q + 5]", False),
    ("world[W_Q + 4:W_Q + 4]", False),
    ("work[BP_GROUPS:BP_GROUPS + N_THRUST_GROUP * n]", True),
    ("groups[8 * g:8 * g + 8]", False),
    ("groups[N_THRUST_GROUP * g + TG_DURATION]", True),
    ("trace[k - 1, T_T]", True),
    ("work[SCRATCH_BASE + 3]", False),
    ("world[st.W_TD + 6]", True),
    ("ll[0]", False),
    ("memo[MT_COS]", True),
    ("fsw.state[3]", False),
    ("fsw.state[F_MODE]", True),
    ("record.events[k, 1]", False),
    ("w = world.state\nw[2]", False),
    ("w, x = world.state, fsw.state\nx[F_X + 6]", False),
    ("w = world.state\nw[W_T]", True),
])
def test_the_checker(source, ok):
    assert (offences(ast.parse(source)) == []) == ok
