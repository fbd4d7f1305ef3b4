"""Parameter declarations: every slot of the parameter arrays filled by exactly one declaration,
every scenario field declared once, and ``build`` filling whatever is declared."""

from __future__ import annotations

import ast
import json
import math
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from tests.terrain import needs_terrain

from touchdown import parameters as params
from touchdown.core import layout as st
from touchdown.moon.dem_tiles import load_onboard_map
from touchdown.parameters import (
    DECLARATIONS,
    PARAMETERS,
    UNFILLED,
    Context,
    Field,
    NotParam,
    Param,
)
from touchdown.scenario import DEFAULTS, SCHEMA, Scenario, resolve
from touchdown.sim.run import build

SRC = Path(params.__file__).resolve().parent
M1 = resolve("hakuto-r-m1")




def _filled() -> Counter[str]:
    """How many declarations fill each slot, as ``layout.field``."""
    return Counter(f"{layout}.{name}" for p in PARAMETERS
                   for layout, (name, _) in p.slots.items())


def test_every_parameter_slot_is_filled_by_exactly_one_declaration():
    slots = {f"{layout.name}.{name}" for layout in (st.WORLD_PARAMS, st.FSW_PARAMS)
             for name in layout.fields}
    filled = _filled()
    assert not {k: n for k, n in filled.items() if n > 1}, "slots filled twice"
    assert set(filled) <= slots
    assert set(filled) | set(UNFILLED) == slots, "slots no declaration fills"
    assert not set(filled) & set(UNFILLED)


def test_unfilled_slots_are_read_by_no_kernel():
    """A slot left zero on purpose must stay unread: once a kernel reads it, declare it."""
    layout_src = (SRC / "core" / "layout.py").read_text()
    for slot in UNFILLED:
        layout, name = slot.split(".")
        const = re.search(rf"^(\w+) = {layout.upper()}\.add\(\"{name}\"", layout_src, re.M)
        assert const, slot
        users = [p for p in SRC.rglob("*.py")
                 if p.name != "layout.py" and const[1] in p.read_text()]
        assert not users, f"{const[1]} is read by {users}: declare it in touchdown.parameters"


def test_every_declaration_names_an_existing_slot_of_its_size():
    for p in PARAMETERS:
        slots = p.slots
        assert slots, p.keys()
        for layout, start in ((st.WORLD_PARAMS, p.world), (st.FSW_PARAMS, p.fsw)):
            if start is not None:
                name, n = slots[layout.name]
                assert layout.slice(name) == slice(start, start + n)
    with pytest.raises(ValueError, match="no field starts at index"):
        Param((Field("x.y", "float", None, None, "-"),), fsw=st.FP_SITE + 1)
    with pytest.raises(ValueError, match="one size"):
        Param((Field("x.y", "vec3", None, None, "-"),), world=st.WP_LRF_BEAM, fsw=st.FP_GATE)
    with pytest.raises(ValueError, match="one size"):
        Param((Field("x.y", "float", None, None, "-"),))


def test_every_scenario_field_is_a_parameter_or_listed_as_not_one():
    # a field fills several slots by being shared (one Field object), never declared again
    fields = {id(f): f for d in DECLARATIONS
              for f in (d.fields if isinstance(d, Param) else (d.field,))}
    declared = Counter(f.key for f in fields.values())
    assert not {k: n for k, n in declared.items() if n > 1}, "fields declared twice"
    assert set(declared) == {key for key, *_ in SCHEMA}
    assert all(d.use for d in DECLARATIONS if isinstance(d, NotParam))
    assert {f.key: f.default for f in params.fields() if f.optional} == DEFAULTS


def test_a_field_declared_twice_is_refused(monkeypatch):
    f = Field("guidance.tilt_max_deg", "float", 0.0, 89.0, "deg")
    monkeypatch.setattr(params, "DECLARATIONS", (*DECLARATIONS, NotParam(f, "twice")))
    with pytest.raises(ValueError, match="declared twice"):
        list(params.fields())


def test_declarations_import_no_numba_and_layout_imports_no_touchdown_module():
    code = ("import sys, touchdown.parameters, touchdown.scenario; "
            "print('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
    tree = ast.parse((SRC / "core" / "layout.py").read_text())
    imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    imported += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not [m for m in imported if m.startswith(("touchdown", "numba"))]


@needs_terrain
def test_build_fills_every_declared_slot_world_from_real_and_fsw_from_plan():
    plan = Scenario.from_toml(M1)
    real = plan.replace({
        "lander.dry_mass_kg": 345.0, "lander.main_engine.thrust_n": 2000.0,
        "lander.thrusters.isp_s": 222.0, "sensors.lrf.max_range_m": 5e4,
        "sensors.lrf.beam_body": (0.0, 0.6, -0.8), "sensors.imu.gyro_bias_deg_h": (1.0, 2.0, 3.0),
        "touchdown.max_tilt_deg": 20.0, "faults.propellant_leak_kg_s": 0.1,
        "faults.propellant_leak_from_s": 12.3456})
    a = build(plan, 0, load_onboard_map(), real)
    context = Context(load_onboard_map(), int(a.clock[st.C_SUBSTEP]))
    for p in PARAMETERS:
        for array, start, source in ((a.world_params, p.world, real),
                                     (a.fsw_params, p.fsw, plan)):
            if start is not None:
                words = np.array(p.words(source, context))
                assert array[start:start + words.size].tobytes() == words.tobytes(), p.keys()
    assert a.world_params[st.WP_LRF_MAX] == 5e4 and a.fsw_params[st.FP_LRF_MAX] != 5e4
    assert a.world_params[st.WP_LEAK + 1] == pytest.approx(12.35, abs=1e-12)  # the pulse grid
    assert tuple(a.fsw_params[st.FP_SITE:st.FP_SITE + 2]) == (math.radians(47.5),
                                                              math.radians(44.4))


@needs_terrain
def test_optional_guidance_and_wake_fields_default_to_the_former_constants():
    fp = build(Scenario.from_toml(M1), 0, load_onboard_map()).fsw_params
    assert fp[st.FP_IGN_TGO_MAX] == 3000.0
    assert fp[st.FP_GUID_RANGE_COS] == math.cos(math.radians(45.0))
    assert tuple(fp[st.FP_WAKE:st.FP_WAKE + 2]) == (0.1, 3.0)
    assert fp[st.FP_LRF_INCIDENCE_COS] == 0.05


def test_words_must_match_the_slot_size():
    p = Param((Field("sensors.lrf.noise_m", "float", 0.0, 1e4, "m"),), world=st.WP_LRF_NOISE,
              si=lambda v: (v, v))
    with pytest.raises(ValueError, match="give 2 words, not 1"):
        p.words(Scenario.from_toml(M1), Context(None, 10))  # type: ignore[arg-type]


ONE_EDIT = """
import json, math, sys, tomllib
import numpy as np
from touchdown.core import layout as st
from touchdown import parameters as P

# the one edit: a declaration (here of the one unfilled slot, from a new optional field)
P.DECLARATIONS += (P.param("flight_software.init_sigma", "vec2", 0.0, 1e6, "m, m/s",
                           fsw=st.FP_INIT_SIG, si=lambda s: (s[0], s[1] / 10.0),
                           default=(100.0, 1.0)),)
P.PARAMETERS += (P.DECLARATIONS[-1],)

from touchdown.errors import ScenarioError
from touchdown.moon.dem_tiles import load_onboard_map
from touchdown.scenario import Scenario, resolve
from touchdown.sim.run import build

doc = tomllib.loads(resolve("hakuto-r-m1").read_text())
default = build(Scenario.from_dict(doc), 0, load_onboard_map()).fsw_params
doc["flight_software"]["init_sigma"] = [50.0, 2.0]
given = build(Scenario.from_dict(doc), 0, load_onboard_map()).fsw_params
doc["flight_software"]["init_sigma"] = [-1.0, 2.0]
try:
    Scenario.from_dict(doc, "bad.toml")
    refused = ""
except ScenarioError as e:
    refused = str(e)
sl = st.FSW_PARAMS.slice("init_sigma")
print(json.dumps([list(default[sl]), list(given[sl]), refused]))
"""


@needs_terrain
def test_one_declaration_adds_a_field_checked_defaulted_and_built():
    """A new Param is all it takes: the scenario reads and checks its field, build fills it."""
    out = subprocess.run([sys.executable, "-c", ONE_EDIT], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    default, given, refused = json.loads(out.stdout)
    assert default == [100.0, 0.1] and given == [50.0, 0.2]
    assert "bad.toml: flight_software.init_sigma must be within [0, 1e+06]" in refused
    assert "give m, m/s" in refused


def test_param_words_flatten_numbers_and_vectors_in_order():
    p = Param(params._target("braking"), fsw=st.FP_BRAKE_TGT)
    s = Scenario.from_toml(M1)
    expected = np.concatenate([s[f"guidance.braking_target_{k}"] for k in
                               ("position_m", "velocity_mps", "acceleration_mps2", "jerk_mps3")])
    words = np.array(p.words(s, Context(None, 10)))  # type: ignore[arg-type]
    assert words.tobytes() == expected.tobytes()


def test_words_are_remembered_for_the_same_values_and_follow_a_changed_one():
    """A campaign's samples share value objects: their words come from memory, and a
    dispersed (new) value gets its own words, never a neighbour's."""
    calls: list[float] = []

    def si(v: float) -> float:
        calls.append(v)
        return 2.0 * v

    p = Param((Field("sensors.lrf.noise_m", "float", 0.0, 1e4, "m"),), world=st.WP_LRF_NOISE,
              si=si)
    nominal = Scenario.from_toml(M1)
    context = Context(None, 10)  # type: ignore[arg-type]
    first = p.words(nominal, context)
    copy = nominal.replace({"lander.propellant_kg": 400.0})  # shares the range finder's value
    assert p.words(copy, context) == first and len(calls) == 1
    changed = nominal.replace({"sensors.lrf.noise_m": 0.5})
    assert p.words(changed, context) == (1.0,) and calls[-1] == 0.5
    zero = nominal.replace({"sensors.lrf.noise_m": 0.0})
    minus_zero = nominal.replace({"sensors.lrf.noise_m": -0.0})
    assert math.copysign(1.0, p.words(minus_zero, context)[0]) == -1.0
    assert math.copysign(1.0, p.words(zero, context)[0]) == 1.0
