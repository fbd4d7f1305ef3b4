"""Dispersion files: distributions, who sees a dispersed value, seeds, and clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from touchdown.campaign.dispersions import Campaign, campaign_file_for, load_campaign
from touchdown.core import layout as st
from touchdown.errors import ScenarioError
from touchdown.moon.dem_tiles import data_dir, load_onboard_map
from touchdown.scenario import Scenario, resolve


@pytest.fixture(scope="module")
def nominal() -> Scenario:
    return Scenario.from_toml(resolve("hakuto-r-m1-fixed"))


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "test.campaign.toml"
    p.write_text(text, encoding="utf-8")
    return p


def draws(campaign: Campaign, nominal: Scenario, column: str, n: int = 4000) -> np.ndarray:
    return np.array([campaign.sample(nominal, 7, i)[3][column] for i in range(n)])


def test_shipped_campaign_files_load_and_the_fixed_one_extends(nominal: Scenario) -> None:
    a = load_campaign(campaign_file_for(resolve("hakuto-r-m1")), nominal)
    b = load_campaign(campaign_file_for(resolve("hakuto-r-m1-fixed")), nominal)
    assert len(a.dispersions) >= 10
    assert a.dispersions == b.dispersions


def test_distributions_have_their_moments_and_bounds(tmp_path: Path, nominal: Scenario) -> None:
    c = load_campaign(write(tmp_path, """
[[dispersion]]
path = "lander.main_engine.thrust_n"
distribution = "normal"
sigma = 8.0
[[dispersion]]
path = "sensors.lrf.dropout_probability"
distribution = "uniform"
low = 0.02
high = 0.06
[[dispersion]]
path = "sensors.lrf.noise_m"
distribution = "truncated_normal"
sigma = 2.0
low = 0.5
high = 1.5
[[dispersion]]
path = "sensors.imu.accel_bias_mps2"
distribution = "normal"
sigma = [1e-4, 2e-4, 3e-4]
"""), nominal)
    thrust = draws(c, nominal, "lander.main_engine.thrust_n")
    assert thrust.mean() == pytest.approx(400.0, abs=4 * 8.0 / np.sqrt(thrust.size))
    assert thrust.std() == pytest.approx(8.0, rel=0.05)
    drop = draws(c, nominal, "sensors.lrf.dropout_probability")
    assert drop.min() >= 0.02 and drop.max() <= 0.06
    assert drop.mean() == pytest.approx(0.04, abs=0.001)
    noise = draws(c, nominal, "sensors.lrf.noise_m")
    assert noise.min() >= 0.5 and noise.max() <= 1.5
    # sigma 2 m over a 1 m window about the nominal 1 m: nearly flat, std near 1/sqrt(12)
    assert noise.std() == pytest.approx(1 / np.sqrt(12), rel=0.05)
    bias_z = draws(c, nominal, "sensors.imu.accel_bias_mps2[2]")
    assert bias_z.std() == pytest.approx(3e-4, rel=0.05)


def test_each_sample_draws_alone_and_seeds_differ(nominal: Scenario) -> None:
    c = load_campaign(campaign_file_for(resolve("hakuto-r-m1")), nominal)
    first = c.sample(nominal, 3, 41)
    again = c.sample(nominal, 3, 41)
    assert first[3] == again[3]
    assert first[2].generate_state(4).tolist() == again[2].generate_state(4).tolist()
    assert c.sample(nominal, 3, 42)[3] != first[3]
    assert c.sample(nominal, 4, 41)[3] != first[3]


def test_hardware_dispersions_reach_the_world_not_the_flight_software(
        tmp_path: Path, nominal: Scenario) -> None:
    from touchdown.sim.run import build

    try:
        data_dir()
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"terrain data not available: {exc}")

    c = load_campaign(write(tmp_path, """
[[dispersion]]
path = "lander.main_engine.thrust_n"
distribution = "uniform"
low = 380.0
high = 390.0
[[dispersion]]
path = "target.lat_deg"
distribution = "uniform"
low = 47.6
high = 47.7
[[dispersion]]
path = "faults.main_thrust_factor"
distribution = "uniform"
low = 1.1
high = 1.2
"""), nominal)
    plan, real, seed, inputs = c.sample(nominal, 0, 0)
    a = build(plan, seed, load_onboard_map(), real)
    assert a.world_params[st.WP_MAIN + st.EG_THRUST] == inputs["lander.main_engine.thrust_n"]
    assert a.fsw_params[st.FP_MAIN + st.EG_THRUST] == 400.0  # the FSW: nominal
    # a fault is the real lander's: the world flies it, the plan keeps the nominal (none)
    assert a.world_params[st.WP_THRUST_FAULT] == inputs["faults.main_thrust_factor"]
    assert plan["faults.main_thrust_factor"] == 1.0 < real["faults.main_thrust_factor"]
    assert np.degrees(a.fsw_params[st.FP_SITE]) == pytest.approx(inputs["target.lat_deg"])


@pytest.mark.parametrize(("text", "field", "fix"), [
    ('[[dispersion]]\npath = "lander.nope"\ndistribution = "normal"\nsigma = 1.0',
     "dispersion[0].path", "use a field path"),
    ('[[dispersion]]\npath = "lander.dry_mass_kg"\ndistribution = "gauss"\nsigma = 1.0',
     "dispersion[0].distribution", "normal, uniform, truncated_normal"),
    ('[[dispersion]]\npath = "lander.dry_mass_kg"\ndistribution = "normal"',
     "dispersion[0].sigma", "is missing"),
    ('[[dispersion]]\npath = "lander.dry_mass_kg"\ndistribution = "normal"\nsigma = -1.0',
     "dispersion[0].sigma", "positive"),
    ('[[dispersion]]\npath = "sensors.lrf.dropout_probability"\ndistribution = "normal"\n'
     'sigma = 0.01', "dispersion[0].sigma", "truncated_normal"),
    ('[[dispersion]]\npath = "lander.dry_mass_kg"\ndistribution = "uniform"\nlow = 2.0\n'
     'high = 1.0', "dispersion[0].low", "must be below high"),
    ('[[dispersion]]\npath = "lander.thrusters.count"\ndistribution = "normal"\nsigma = 1.0',
     "dispersion[0].path", "cannot be dispersed"),
    ('[[dispersion]]\npath = "lander.dry_mass_kg"\ndistribution = "normal"\nsigma = 1.0\n'
     'low = 0.0', "dispersion[0].low", "not a parameter of a normal"),
    ('[[dispersion]]\npath = "sensors.imu.accel_bias_mps2"\ndistribution = "normal"\n'
     'sigma = [1.0, 2.0]', "dispersion[0].sigma", "list of 3 numbers"),
    ('dispersions = []', "dispersions", "[[dispersion]] entries"),
    ('[[dispersion]\npath = 1', "", "not valid TOML"),
    ('extends = "test.campaign.toml"', "extends", "forms a loop"),
])
def test_bad_campaign_files_name_the_file_field_and_fix(tmp_path: Path, nominal: Scenario,
                                                        text: str, field: str, fix: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as err:
        load_campaign(path, nominal)
    message = str(err.value)
    assert str(path) in message
    assert err.value.field == field
    assert fix in message


def test_missing_campaign_file_says_so(tmp_path: Path, nominal: Scenario) -> None:
    with pytest.raises(ScenarioError, match="does not exist"):
        load_campaign(tmp_path / "none.campaign.toml", nominal)
