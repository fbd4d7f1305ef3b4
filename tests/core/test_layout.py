"""Array layouts and codes in ``core.layout``: the single source of every index.

What validates what: every layout (each module-level ``X = Layout(...)``, found in the module's
source, must be in ``ALL_LAYOUTS``) has fields that tile [0, size) with no overlap or gap and
carry a unit and a meaning; every named index constant (read from the module's source, so a
hand-typed index is caught) equals the start of the field it was made from and uses its
layout's prefix (the name up to its first ``_``: one per layout, none shared); every size
constant ``N_X = X.size`` equals its layout's size, and each layout that is not scratch has
one; the records kept inside other arrays (the Moon's turn, the terrain box, lat/lon) fit the
fields that hold them; the world's scratch covers every world kernel's area; the code tables
(events, modes, outcomes, policies, range-finder states) number their tuples 0..n-1.
"""

import ast
import inspect

import pytest

from touchdown.core import layout as st

TREE = ast.parse(inspect.getsource(st))


def _layout_vars():
    """{variable: layout} for every module-level ``X = Layout("name")``."""
    found = {}
    for node in TREE.body:
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Name) and node.value.func.id == "Layout"):
            assert len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
            found[node.targets[0].id] = getattr(st, node.targets[0].id)
    return found


def _add_calls():
    """(constant name, layout variable, field name) for every ``X = LAYOUT.add("f", ...)``."""
    found = []
    for node in TREE.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        func = node.value.func
        if isinstance(func, ast.Attribute) and func.attr == "add":
            assert len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
            found.append((node.targets[0].id, func.value.id, node.value.args[0].value))
    return found


def _size_constants():
    """{layout variable: [constant, ...]} for every module-level ``N_X = VAR.size``."""
    found = {}
    for node in TREE.body:
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Attribute)
                and node.value.attr == "size" and isinstance(node.value.value, ast.Name)):
            assert len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
            found.setdefault(node.value.value.id, []).append(node.targets[0].id)
    return found


LAYOUT_VAR = _layout_vars()
ADDS = _add_calls()
SIZE_CONSTS = _size_constants()
VAR_OF = {id(lay): var for var, lay in LAYOUT_VAR.items()}


def _prefix(const):
    return const.split("_", 1)[0] + "_"


PREFIX = {var: {_prefix(const) for const, lvar, _ in ADDS if lvar == var} for var in LAYOUT_VAR}


def test_all_layouts_listed():
    """``ALL_LAYOUTS`` holds every layout the module declares, once; names are unique."""
    assert sorted(map(id, st.ALL_LAYOUTS)) == sorted(map(id, LAYOUT_VAR.values()))
    assert len({lay.name for lay in st.ALL_LAYOUTS}) == len(st.ALL_LAYOUTS)
    assert all(lvar in LAYOUT_VAR for _, lvar, _ in ADDS), "add on something not a layout"


def test_each_layout_has_its_own_prefix():
    """All index constants of a layout share one prefix, and no two layouts share one."""
    for var, prefixes in PREFIX.items():
        assert len(prefixes) == 1, f"{var}: constants with several prefixes {sorted(prefixes)}"
    owners = {}
    for var, prefixes in PREFIX.items():
        (prefix,) = prefixes
        assert prefix not in owners, f"{var} and {owners[prefix]} share the prefix {prefix}"
        owners[prefix] = var


@pytest.mark.parametrize("layout", st.ALL_LAYOUTS, ids=lambda lay: lay.name)
def test_fields_tile_the_layout_without_overlap(layout):
    """Sorted by start, each field begins where the previous ended, from 0 to ``size``."""
    spans = sorted((start, n, name) for name, (start, n, _, _) in layout.fields.items())
    end = 0
    for start, n, name in spans:
        assert n >= 1, name
        assert start == end, f"{layout.name}.{name} starts at {start}, expected {end}"
        end = start + n
    assert end == layout.size
    assert sum(n for _, n, _, _ in layout.fields.values()) == layout.size


@pytest.mark.parametrize("layout", st.ALL_LAYOUTS, ids=lambda lay: lay.name)
def test_size_constants_equal_the_size(layout):
    """``N_X = X.size`` equals the size; a layout that is not scratch has ``N_<variable>``."""
    var = VAR_OF[id(layout)]
    for const in SIZE_CONSTS.get(var, []):
        assert getattr(st, const) == layout.size, const
    if not layout.name.startswith("scratch."):
        assert f"N_{var}" in SIZE_CONSTS.get(var, []), f"no N_{var} = {var}.size"


@pytest.mark.parametrize("layout", st.ALL_LAYOUTS, ids=lambda lay: lay.name)
def test_every_field_has_unit_and_doc(layout):
    for name, (_, _, unit, doc) in layout.fields.items():
        assert isinstance(unit, str) and unit.strip(), f"{layout.name}.{name}: no unit"
        assert isinstance(doc, str) and doc.strip(), f"{layout.name}.{name}: no doc"


@pytest.mark.parametrize("layout", st.ALL_LAYOUTS, ids=lambda lay: lay.name)
def test_index_constants_equal_field_starts(layout):
    """Each ``PREFIX_*`` constant was made by ``add`` on its own layout and equals that field's
    start; each field has exactly one constant; no other int constant uses the prefix."""
    var = VAR_OF[id(layout)]
    (prefix,) = PREFIX[var]
    mine = [(const, fname) for const, lvar, fname in ADDS if lvar == var]
    assert sorted(f for _, f in mine) == sorted(layout.fields), "a field without a constant"
    for const, fname in mine:
        assert const.startswith(prefix), f"{const} should start with {prefix}"
        assert getattr(st, const) == layout.fields[fname][0], const
        assert layout.slice(fname) == slice(getattr(st, const),
                                            getattr(st, const) + layout.fields[fname][1])
    made = {const for const, _ in mine}
    stray = [k for k, v in vars(st).items()
             if k.startswith(prefix) and isinstance(v, int) and k not in made]
    assert not stray, f"index constants not made by {var}.add: {stray}"


def test_records_fit_the_fields_that_hold_them():
    """A record laid out on its own (``MOON_TURN``, ``TERRAIN_BOX``, ``LATLON``) is exactly
    as long as every field that holds one."""
    assert st.WORLD.fields["moon_turn"][1] == st.MOON_TURN.size
    assert st.FSW.fields["moon_turn"][1] == st.MOON_TURN.size
    assert st.WORLD.fields["terrain_box"][1] == st.TERRAIN_BOX.size
    holders = [(lay.name, name, n) for lay in st.ALL_LAYOUTS
               for name, (_, n, _, _) in lay.fields.items() if name == "latlon"]
    assert len(holders) >= 4
    for lname, name, n in holders:
        assert n == st.LATLON.size, f"{lname}.{name}"


def test_world_scratch_covers_every_world_kernel():
    """The one area the loop hands to the world kernels covers each one's; ``burn_pulses``,
    which hands its whole area to ``substep`` when the propellant does not last, covers both."""
    assert max(st.SCRATCH_BURN.size, st.SCRATCH_SUBSTEP.size) <= st.N_BURN_WORK
    for lay in (st.SCRATCH_SUBSTEP, st.SCRATCH_BURN, st.SCRATCH_CONTACT, st.SCRATCH_ALTITUDE,
                st.SCRATCH_CLASSIFY, st.SCRATCH_READ_LRF, st.SCRATCH_RECORD):
        assert lay.size <= st.N_WORLD_SCRATCH, lay.name
    assert st.SCRATCH_BURN.fields["groups"][1] == st.MAX_PULSES * st.THRUST_GROUP.size


def test_trace_column_suffixes_match_units():
    """Trace columns cross an edge (files, UI), so their names carry the unit suffix."""
    suffix_unit = {"_s": "s", "_deg": "deg", "_m": "m", "_km": "km", "_mps": "m/s",
                   "_kg": "kg", "_n": "N"}
    for name, (_, _, unit, _) in st.TRACE.fields.items():
        for suffix, expected in suffix_unit.items():
            if name.endswith(suffix):
                assert unit == expected, f"trace.{name}: unit {unit}, suffix says {expected}"


def test_layout_rejects_duplicate_field():
    lay = st.Layout("x")
    assert lay.add("a", 2, "m", "first") == 0
    assert lay.add("b", 1, "s", "second") == 2
    with pytest.raises(ValueError, match="defined twice"):
        lay.add("a", 1, "m", "again")
    assert lay.size == 3


# ---------------------------------------------------------------- codes


def test_event_codes_are_0_to_n_minus_1_and_unique():
    codes = [code for code, _, _ in st.EVENTS]
    names = [name for _, name, _ in st.EVENTS]
    assert codes == list(range(len(st.EVENTS)))
    assert len(set(names)) == len(names)
    assert all(meaning.strip() for _, _, meaning in st.EVENTS)
    assert {name: code for code, name, _ in st.EVENTS} == st.EV


def test_event_constants_name_the_right_events():
    expected = {
        "EV_DOI_START": "doi_start", "EV_DOI_END": "doi_end", "EV_BRAKING": "braking_start",
        "EV_APPROACH": "approach_start", "EV_VERTICAL": "vertical_descent_start",
        "EV_TERMINAL": "terminal_descent_start", "EV_LRF_ACQ": "lrf_acquired",
        "EV_LRF_REJ": "lrf_rejected", "EV_LRF_FAULT": "lrf_fault_declared",
        "EV_LRF_REACQ": "lrf_reacquired", "EV_ALT_ZERO": "altitude_estimate_zero",
        "EV_PROP_LOW": "propellant_low", "EV_PROP_OUT": "propellant_exhausted",
        "EV_TD_DETECT": "touchdown_detected", "EV_CONTACT": "contact",
        "EV_LRF_WIDEN": "lrf_widened", "EV_TIMEOUT": "timeout",
        "EV_HOVER_START": "hover_start", "EV_HOVER_END": "hover_end",
        "EV_ENGINE_CUTOFF": "engine_cutoff", "EV_PROBE_CONTACT": "probe_contact",
        "EV_SITE_SELECTED": "site_selected", "EV_ALTM_ACQ": "altimeter_acquired",
        "EV_ALTM_REJ": "altimeter_rejected", "EV_RETRO_START": "retro_start",
        "EV_RESTART": "computer_restart", "EV_RELIGHT_ATTEMPT": "relight_attempt",
        "EV_RELIT": "engine_relit", "EV_COMMAND": "command_received",
        "EV_IMU_SWITCH": "imu_switched", "EV_IMU_LOST": "imu_lost",
        "EV_PROGRAM_ALARM": "program_alarm", "EV_COMMAND_DONE": "command_executed",
        "EV_COMMAND_REJECTED": "command_rejected", "EV_RETARGET": "retarget",
    }
    defined = {k for k, v in vars(st).items() if k.startswith("EV_") and isinstance(v, int)}
    assert defined == set(expected)
    for const, name in expected.items():
        assert getattr(st, const) == st.EV[name], const


@pytest.mark.parametrize(("table", "codes"), [
    ("OUTCOMES", {"FLYING": "flying", "LANDED": "landed", "CRASHED": "crashed",
                  "TIMEOUT": "timeout"}),
    ("POLICIES", {"POLICY_AS_FLOWN_M1": "as_flown_m1", "POLICY_TERRAIN_AWARE": "terrain_aware"}),
    ("MODES", {"MODE_COAST_ORBIT": "orbit_coast", "MODE_DOI": "doi",
               "MODE_COAST_DESCENT": "descent_coast", "MODE_BRAKING": "braking",
               "MODE_APPROACH": "approach", "MODE_VERTICAL": "vertical_descent",
               "MODE_TERMINAL": "terminal_descent", "MODE_TOUCHDOWN": "touchdown",
               "MODE_HOVER": "hover", "MODE_FREE_FALL": "free_fall",
               "MODE_RETRO_COAST": "retro_coast", "MODE_RETRO": "retro"}),
    ("LRF_STATES", {"LRF_WAITING": "waiting", "LRF_TRACKING": "tracking",
                    "LRF_FAULTY": "faulty"}),
    ("COMMANDS", {"COMMAND_COMPUTER_RESET": "computer_reset", "COMMAND_IMU_RESET": "imu_reset",
                  "COMMAND_ENGINE_ARM": "engine_arm", "COMMAND_ENGINE_DISARM": "engine_disarm",
                  "COMMAND_LRF_ENABLE": "lrf_enable", "COMMAND_LRF_DISABLE": "lrf_disable",
                  "COMMAND_LRF_RESET": "lrf_reset", "COMMAND_LRF_POLICY": "lrf_policy",
                  "COMMAND_MODE_OVERRIDE": "mode_override", "COMMAND_IMU_ENABLE": "imu_enable",
                  "COMMAND_IMU_DISABLE": "imu_disable",
                  "COMMAND_TELEMETRY_RATE": "telemetry_rate", "COMMAND_TIME_SYNC": "time_sync",
                  "COMMAND_ABORT": "abort"}),
    ("TC_REJECTIONS", {"TC_OK": "none", "TC_FRAME": "frame", "TC_SEQUENCE": "sequence",
                       "TC_PACKET": "packet", "TC_UNKNOWN": "unknown", "TC_RANGE": "range",
                       "TC_STATE": "state"}),
    ("RESTART_PHASES", {"RESTART_RUNNING": "running", "RESTART_BOOTING": "booting",
                        "RESTART_SAFE": "safe", "RESTART_RELIGHT": "relight"}),
])
def test_code_constants_index_their_tuples(table, codes):
    names = getattr(st, table)
    assert len(set(names)) == len(names)
    assert sorted(getattr(st, c) for c in codes) == list(range(len(names)))
    for const, name in codes.items():
        assert names[getattr(st, const)] == name, const
