"""Basilisk side of the campaign benchmark: hakuto-r-m1's powered descent, reduced to Basilisk.

One Monte Carlo sample flies the lander from braking ignition (perilune of a 25 x 100 km lunar
orbit, 1,685 m/s) to footpad contact, through Basilisk's own Monte Carlo ``Controller`` with its
process pool, dispersions and per-run archive, as Basilisk users run it. ``run_basilisk_campaign``
returns the wall time per sample and a summary of what the samples did, for
``bench_campaign.py`` to set beside touchdown's campaign.

Modelled, with Basilisk 2.12 modules unless noted:

* ``spacecraft.Spacecraft``: 6-DOF rigid hub (360 kg dry + payload) carrying a
  ``fuelTank.FuelTank`` (constant-volume model, 390 kg propellant, depleted by the thrusters),
  classical RK4 at 10 ms (touchdown: RK4, 10 ms substeps).
* Gravity: one point-mass Moon, GM = 4.9028e12 m^3/s^2, R = 1737.4 km, from
  ``simIncludeGravBody``; the Moon does not rotate and is a smooth sphere.
* ``thrusterDynamicEffector``: 1 x 400 N (Isp 318 s) main engine and 6 x 200 N (Isp 290 s)
  thrusters, all along body +z, instantaneous on/off; the six thrusters are throttled together
  by pulse width with on-times in steps of 10 ms (touchdown: pulse resolution 0.01 s).
* Flight software at 10 Hz: ``simpleNav`` (perfect truth) -> ``DescentGuidance`` ->
  ``attTrackingError`` -> ``mrpFeedback`` (PD + integral) -> ``extForceTorque`` (ideal torque).
  ``DescentGuidance`` is a Python ``sysModel``: Basilisk has no powered-descent guidance or
  throttle module. Its law: brake at full thrust, against the horizontal velocity, while
  descending at (altitude - 1 km) / time-to-go; below 5 m/s of horizontal speed, on the
  thrusters alone, follow touchdown's vertical law hdot = -sqrt(0.72^2 + 2 * 0.54 * h) down to
  20 m and 0.72 m/s below, nulling the horizontal velocity with a 5 s time constant. The thrust
  direction turns at no more than 10 deg/s (touchdown: 5 deg/s, but its approach phase pitches
  up gently; this law pitches up in seconds).
* A terminal event, checked at 10 Hz, ends the run at footpad contact (centre of mass 1.2 m
  above the sphere) or at 900 s.
* Dispersed per sample with the Controller's dispersion classes: propellant load, the thrust
  of each of the seven engines (``THRSimConfig.thrusterMagDisp``) and the initial position and
  velocity (touchdown's orbit-determination sigmas, here radial / along-track / cross-track at
  ignition).

Not modelled (touchdown models them): IMU, star tracker and range finder with their errors, the
navigation filter and its range-finder gating, terrain (LRO elevation), J2 / C22 gravity and the
Moon's rotation, the flight-software phases and failure logic, the orbit and the descent-orbit
insertion before ignition, engine and sensor faults, the event log and the per-cycle trace.

Run: ``.venv-bench/bin/python benchmarks/basilisk_descent.py --samples 30 --threads 1 2``
(environment: ``benchmarks/requirements-basilisk.txt``; notes: ``README-basilisk-notes.md``).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from Basilisk.architecture import messaging, sysModel
from Basilisk.fswAlgorithms import attTrackingError, mrpFeedback
from Basilisk.simulation import (
    extForceTorque,
    fuelTank,
    simpleNav,
    spacecraft,
    thrusterDynamicEffector,
)
from Basilisk.utilities import SimulationBaseClass, macros, simIncludeGravBody, simIncludeThruster
from Basilisk.utilities.MonteCarlo.Controller import Controller, RetentionPolicy
from Basilisk.utilities.MonteCarlo.Dispersions import NormalDispersion, NormalVectorCartDispersion

# --- the reduced hakuto-r-m1 descent (scenarios/hakuto-r-m1.toml) ---------------------------
GM_MOON = 4.9028e12  # m^3/s^2
R_MOON = 1737.4e3  # m
PERILUNE_ALT = 25.0e3  # m, braking ignition
APOLUNE_ALT = 100.0e3  # m
DRY_MASS = 360.0  # kg, 340 dry + 20 payload
PROPELLANT = 390.0  # kg at ignition: 400 at DOI less ~10 used since (total ~750 kg)
PROPELLANT_SIGMA = 4.0  # kg, ASSUMPTION (1-sigma propellant-load uncertainty)
MAIN_THRUST, MAIN_ISP = 400.0, 318.0
THR_COUNT, THR_THRUST, THR_ISP = 6, 200.0, 290.0
THRUST_SIGMA = 0.02  # 1-sigma fractional thrust error per engine, ASSUMPTION
POS_SIGMA = [100.0, 300.0, 100.0]  # m, radial / along-track / cross-track (touchdown's OD)
VEL_SIGMA = [0.1, 0.1, 0.1]  # m/s
INERTIA = [250.0, 0.0, 0.0, 0.0, 250.0, 0.0, 0.0, 0.0, 300.0]  # kg m^2, hub, ASSUMPTION
FOOTPAD_DEPTH = 1.2  # m, centre of mass above the footpad plane

# --- rates and limits --------------------------------------------------------------------------
DYN_STEP = 0.01  # s, dynamics (RK4) step
FSW_STEP = 0.1  # s, flight software cycle
PULSE_STEP = 0.01  # s, thruster on-time resolution
T_MAX = 900.0  # s, timeout

# --- throttle law ------------------------------------------------------------------------------
H_GATE = 1000.0  # m, braking aims to null the horizontal speed at this height
V_SWITCH = 5.0  # m/s, horizontal speed that ends braking
DESCENT_DECEL = 0.54  # m/s^2, touchdown's vertical law
FINAL_SPEED = 0.72  # m/s
TERMINAL_ALT = 20.0  # m, constant FINAL_SPEED below this
TAU_V = 1.0  # s, vertical-speed tracking time constant
TAU_H = 5.0  # s, horizontal-speed nulling time constant (touchdown: 0.2 /s)
VZ_BRAKE_MAX = 60.0  # m/s, descent-rate limit while braking
PROP_RESERVE = 1.0  # kg, engines off below this (the tank model would go negative)

# mrpFeedback gains: a 1 rad/s, 0.9-damped attitude loop (L = -K sigma - P omega + integral
# term), the integral absorbing the torque of the dispersed thrusters
ATT_WN, ATT_ZETA = 1.0, 0.9
ATT_K = 4.0 * INERTIA[0] * ATT_WN**2
ATT_P = 2.0 * ATT_ZETA * ATT_WN * INERTIA[0]
ATT_KI = 0.1 / ATT_P  # integral torque builds at 0.1 /s of the proportional one
ATT_INTEGRAL_LIMIT = 300.0  # N m s on K * integral(sigma): caps the integral torque at 30 N m
SLEW_MAX = math.radians(10.0)  # rad/s, thrust-direction rate limit (touchdown: 5 deg/s)


def initial_state() -> tuple[list[float], list[float]]:
    """Position and velocity at perilune, with x radial, y along-track, z cross-track."""
    rp, ra = R_MOON + PERILUNE_ALT, R_MOON + APOLUNE_ALT
    vp = math.sqrt(GM_MOON * (2.0 / rp - 2.0 / (rp + ra)))
    return [rp, 0.0, 0.0], [0.0, vp, 0.0]


def _unit(v: tuple[float, float, float]) -> tuple[float, float, float]:
    n = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
    return (v[0] / n, v[1] / n, v[2] / n)


def _cross(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, float, float]:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _dot(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _mrp_from_axes(x: tuple[float, ...], y: tuple[float, ...], z: tuple[float, ...]) -> list[float]:
    """MRP sigma_RN of the frame whose axes (in N) are x, y, z: rows of [RN]."""
    c = (x, y, z)
    tr = c[0][0] + c[1][1] + c[2][2]
    # Shepperd's method for the quaternion (scalar first), then sigma = q_vec / (1 + q0)
    cands = (tr, c[0][0], c[1][1], c[2][2])
    k = max(range(4), key=lambda i: cands[i])
    if k == 0:
        q0 = 0.5 * math.sqrt(1.0 + tr)
        q = (
            q0,
            (c[1][2] - c[2][1]) / (4 * q0),
            (c[2][0] - c[0][2]) / (4 * q0),
            (c[0][1] - c[1][0]) / (4 * q0),
        )
    elif k == 1:
        q1 = 0.5 * math.sqrt(1.0 + 2 * c[0][0] - tr)
        q = (
            (c[1][2] - c[2][1]) / (4 * q1),
            q1,
            (c[0][1] + c[1][0]) / (4 * q1),
            (c[2][0] + c[0][2]) / (4 * q1),
        )
    elif k == 2:
        q2 = 0.5 * math.sqrt(1.0 + 2 * c[1][1] - tr)
        q = (
            (c[2][0] - c[0][2]) / (4 * q2),
            (c[0][1] + c[1][0]) / (4 * q2),
            q2,
            (c[1][2] + c[2][1]) / (4 * q2),
        )
    else:
        q3 = 0.5 * math.sqrt(1.0 + 2 * c[2][2] - tr)
        q = (
            (c[0][1] - c[1][0]) / (4 * q3),
            (c[2][0] + c[0][2]) / (4 * q3),
            (c[1][2] + c[2][1]) / (4 * q3),
            q3,
        )
    if q[0] < 0.0:
        q = (-q[0], -q[1], -q[2], -q[3])
    return [q[1] / (1.0 + q[0]), q[2] / (1.0 + q[0]), q[3] / (1.0 + q[0])]


def reference_attitude(
    thrust_dir: tuple[float, ...], x_prev: tuple[float, ...]
) -> tuple[list[float], tuple[float, float, float]]:
    """sigma_RN putting body +z on thrust_dir, with the least roll from x_prev."""
    z = thrust_dir
    d = _dot(x_prev, z)
    x = (x_prev[0] - d * z[0], x_prev[1] - d * z[1], x_prev[2] - d * z[2])
    if _dot(x, x) < 1e-12:
        x = _cross(z, (0.0, 0.0, 1.0)) if abs(z[2]) < 0.9 else _cross(z, (1.0, 0.0, 0.0))
    x = _unit(x)
    y = _cross(z, x)
    return _mrp_from_axes(x, y, z), x


def ignition_direction(r: list[float], v: list[float]) -> tuple[float, float, float]:
    """Thrust direction of the first guidance cycle, for the initial attitude."""
    g = DescentGuidance()
    g.thrust_dir = _unit((-v[0], -v[1], -v[2]))
    for _ in range(int(math.pi / (SLEW_MAX * FSW_STEP)) + 1):
        g.command(tuple(r), tuple(v), DRY_MASS + PROPELLANT)
    return g.thrust_dir


class DescentGuidance(sysModel.SysModel):
    """Throttle law and thrust pointing (Python ``sysModel``, 10 Hz).

    Reads ``NavTransMsg`` (position, velocity), ``SCMassPropsMsg`` (mass) and ``FuelTankMsg``;
    writes ``AttRefMsg`` (body +z along the thrust) and ``THRArrayOnTimeCmdMsg`` (engine 0 the
    main engine, 1-6 the thrusters, fired together).
    """

    def __init__(self) -> None:
        super().__init__()
        self.navTransInMsg = messaging.NavTransMsgReader()
        self.massInMsg = messaging.SCMassPropsMsgReader()
        self.fuelInMsg = messaging.FuelTankMsgReader()
        self.attRefOutMsg = messaging.AttRefMsg()
        self.thrCmdOutMsg = messaging.THRArrayOnTimeCmdMsg()
        self.braking = True
        self.thrust_dir: tuple[float, float, float] = (1.0, 0.0, 0.0)
        self.omega_ref: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self.x_ref: tuple[float, float, float] = (0.0, 0.0, 1.0)
        self.main_on_s = 0.0  # accumulated firing times, for the outcome summary
        self.thr_on_s = 0.0

    def Reset(self, CurrentSimNanos: int) -> None:  # noqa: N802 (Basilisk API)
        self.braking = True
        self.main_on_s = self.thr_on_s = 0.0

    def command(
        self, r: tuple[float, ...], v: tuple[float, ...], mass: float
    ) -> tuple[tuple[float, float, float], float, float]:
        """Thrust direction, main-engine on-time and thruster on-time (s) for this cycle."""
        rn = math.sqrt(_dot(r, r))
        up = (r[0] / rn, r[1] / rn, r[2] / rn)
        h = rn - R_MOON - FOOTPAD_DEPTH
        vz = _dot(v, up)
        vh_vec = (v[0] - vz * up[0], v[1] - vz * up[1], v[2] - vz * up[2])
        vh = math.sqrt(_dot(vh_vec, vh_vec))
        if self.braking and vh < V_SWITCH:
            self.braking = False
        thrust_max = THR_COUNT * THR_THRUST + (MAIN_THRUST if self.braking else 0.0)
        a_max = thrust_max / mass
        if self.braking:
            t_go = vh / (0.9 * a_max)
            vz_ref = -min(max(h - H_GATE, 0.0) / max(t_go, 1.0), VZ_BRAKE_MAX)
            a_ref = 0.0
        elif h > TERMINAL_ALT:
            vz_ref = -math.sqrt(FINAL_SPEED**2 + 2.0 * DESCENT_DECEL * h)
            a_ref = DESCENT_DECEL  # the profile's own deceleration, fed forward
        else:
            vz_ref, a_ref = -FINAL_SPEED, 0.0
        # vertical thrust acceleration: gravity less the centripetal relief, the profile's
        # deceleration and the speed-tracking term
        az = (vz_ref - vz) / TAU_V + a_ref + GM_MOON / rn**2 - vh * vh / rn
        az = min(max(az, 0.0), a_max)
        ah = min(math.sqrt(max(a_max * a_max - az * az, 0.0)), vh / TAU_H)
        if vh > 1e-6:
            a = (
                az * up[0] - ah * vh_vec[0] / vh,
                az * up[1] - ah * vh_vec[1] / vh,
                az * up[2] - ah * vh_vec[2] / vh,
            )
        else:
            a = (az * up[0], az * up[1], az * up[2])
        an = math.sqrt(_dot(a, a))
        self.omega_ref = (0.0, 0.0, 0.0)
        if an > 1e-9:
            self.slew_towards((a[0] / an, a[1] / an, a[2] / an))
        thrust = mass * an
        main = self.braking and thrust >= MAIN_THRUST
        duty = (thrust - (MAIN_THRUST if main else 0.0)) / (THR_COUNT * THR_THRUST)
        duty = min(max(duty, 0.0), 1.0)
        thr_on = round(duty * FSW_STEP / PULSE_STEP) * PULSE_STEP
        # a main-engine on-time longer than the cycle keeps it burning until the next command
        return self.thrust_dir, (2.0 * FSW_STEP if main else 0.0), thr_on

    def slew_towards(self, target: tuple[float, float, float]) -> None:
        """Turn the thrust direction towards target at no more than SLEW_MAX."""
        d = self.thrust_dir
        axis = _cross(d, target)
        s = math.sqrt(_dot(axis, axis))
        ang = math.atan2(s, _dot(d, target))
        if s < 1e-12:
            if ang < 1e-6:
                self.thrust_dir = target
            return  # exactly opposite: does not occur in this law
        axis = (axis[0] / s, axis[1] / s, axis[2] / s)
        step = min(ang, SLEW_MAX * FSW_STEP)
        c, sn = math.cos(step), math.sin(step)
        ad = _cross(axis, d)
        self.thrust_dir = _unit(
            (c * d[0] + sn * ad[0], c * d[1] + sn * ad[1], c * d[2] + sn * ad[2])
        )
        rate = step / FSW_STEP
        self.omega_ref = (rate * axis[0], rate * axis[1], rate * axis[2])

    def UpdateState(self, CurrentSimNanos: int) -> None:  # noqa: N802 (Basilisk API)
        nav = self.navTransInMsg()
        mass = self.massInMsg().massSC
        fuel = self.fuelInMsg().fuelMass
        direction, main_on, thr_on = self.command(tuple(nav.r_BN_N), tuple(nav.v_BN_N), mass)
        if fuel < PROP_RESERVE:
            main_on = thr_on = 0.0
        self.main_on_s += min(main_on, FSW_STEP)
        self.thr_on_s += thr_on
        sigma, self.x_ref = reference_attitude(direction, self.x_ref)
        ref = messaging.AttRefMsgPayload()
        ref.sigma_RN = sigma
        ref.omega_RN_N = list(self.omega_ref)
        self.attRefOutMsg.write(ref, CurrentSimNanos, self.moduleID)
        cmd = messaging.THRArrayOnTimeCmdMsgPayload()
        cmd.OnTimeRequest = [main_on] + [thr_on] * THR_COUNT
        self.thrCmdOutMsg.write(cmd, CurrentSimNanos, self.moduleID)


def _touched_down(sim: Any) -> bool:
    r = sim.scObject.scStateOutMsg.read().r_BN_N
    return math.sqrt(r[0] ** 2 + r[1] ** 2 + r[2] ** 2) - R_MOON <= FOOTPAD_DEPTH


def create_descent_sim(retain: bool = False) -> Any:
    """Build one sample's simulation (the Controller's simulation function).

    With retain, a 1 Hz recorder of the spacecraft state is added for a ``RetentionPolicy``.
    """
    t_build = time.perf_counter()
    sim = SimulationBaseClass.SimBaseClass()
    sim.t_build = t_build
    # higher priority runs first: dynamics, then the flight software at the same instant
    sim.dynProcess = sim.CreateNewProcess("dynamics", 200)
    sim.fswProcess = sim.CreateNewProcess("fsw", 100)
    sim.dynProcess.addTask(sim.CreateNewTask("dynTask", macros.sec2nano(DYN_STEP)))
    sim.fswProcess.addTask(sim.CreateNewTask("fswTask", macros.sec2nano(FSW_STEP)))

    sc = sim.scObject = spacecraft.Spacecraft()
    sc.ModelTag = "lander"
    sc.hub.mHub = DRY_MASS
    sc.hub.r_BcB_B = [[0.0], [0.0], [0.0]]
    sc.hub.IHubPntBc_B = np.array(INERTIA).reshape(3, 3).tolist()
    r0, v0 = initial_state()
    sc.hub.r_CN_NInit = r0
    sc.hub.v_CN_NInit = v0
    guid = sim.guidance = DescentGuidance()
    guid.ModelTag = "descentGuidance"
    guid.thrust_dir = ignition_direction(r0, v0)
    sigma0, guid.x_ref = reference_attitude(guid.thrust_dir, guid.x_ref)
    sc.hub.sigma_BNInit = sigma0
    sc.hub.omega_BN_BInit = [0.0, 0.0, 0.0]
    sim.AddModelToTask("dynTask", sc, 100)

    sim.gravFactory = simIncludeGravBody.gravBodyFactory()
    moon = sim.gravFactory.createCustomGravObject("moon", GM_MOON, radEquator=R_MOON)
    moon.isCentralBody = True
    sim.gravFactory.addBodiesTo(sc)

    sim.thrFactory = simIncludeThruster.thrusterFactory()
    sim.mainEngine = sim.thrFactory.create(
        "Blank_Thruster",
        [0.0, 0.0, -1.0],
        np.array([0.0, 0.0, 1.0]),
        MaxThrust=MAIN_THRUST,
        steadyIsp=MAIN_ISP,
        label="MAIN",
    )
    sim.thrusters = []
    for k in range(THR_COUNT):
        ang = 2.0 * math.pi * k / THR_COUNT
        sim.thrusters.append(
            sim.thrFactory.create(
                "Blank_Thruster",
                [0.8 * math.cos(ang), 0.8 * math.sin(ang), -0.8],
                np.array([0.0, 0.0, 1.0]),
                MaxThrust=THR_THRUST,
                steadyIsp=THR_ISP,
                label=f"T{k + 1}",
            )
        )
    sim.thrEffector = thrusterDynamicEffector.ThrusterDynamicEffector()
    sim.thrFactory.addToSpacecraft("engines", sim.thrEffector, sc)
    sim.AddModelToTask("dynTask", sim.thrEffector, 90)

    sim.tank = fuelTank.FuelTank()
    sim.tank.ModelTag = "tank"
    sim.tankModel = fuelTank.FuelTankModelConstantVolume()
    sim.tankModel.propMassInit = PROPELLANT
    sim.tankModel.r_TcT_TInit = [[0.0], [0.0], [0.0]]
    sim.tankModel.radiusTankInit = 0.55
    sim.tank.setTankModel(sim.tankModel)
    sim.tank.setR_TB_B([0.0, 0.0, 0.0])
    sc.addStateEffector(sim.tank)
    sim.tank.addThrusterSet(sim.thrEffector)

    sim.extTorque = extForceTorque.ExtForceTorque()
    sim.extTorque.ModelTag = "attitudeTorque"
    sc.addDynamicEffector(sim.extTorque)
    sim.AddModelToTask("dynTask", sim.extTorque, 80)

    # flight software, 10 Hz
    sim.nav = simpleNav.SimpleNav()
    sim.nav.ModelTag = "nav"
    sim.nav.scStateInMsg.subscribeTo(sc.scStateOutMsg)
    sim.AddModelToTask("fswTask", sim.nav, 100)
    sim.AddModelToTask("fswTask", sim.tank, 95)
    guid.navTransInMsg.subscribeTo(sim.nav.transOutMsg)
    guid.massInMsg.subscribeTo(sc.scMassOutMsg)
    guid.fuelInMsg.subscribeTo(sim.tank.fuelTankOutMsg)
    sim.AddModelToTask("fswTask", guid, 90)
    sim.thrEffector.cmdsInMsg.subscribeTo(guid.thrCmdOutMsg)

    sim.attError = attTrackingError.attTrackingError()
    sim.attError.ModelTag = "attError"
    sim.attError.attNavInMsg.subscribeTo(sim.nav.attOutMsg)
    sim.attError.attRefInMsg.subscribeTo(guid.attRefOutMsg)
    sim.AddModelToTask("fswTask", sim.attError, 80)
    sim.vehConfigMsg = messaging.VehicleConfigMsg().write(
        messaging.VehicleConfigMsgPayload(ISCPntB_B=INERTIA)
    )
    sim.attControl = mrpFeedback.mrpFeedback()
    sim.attControl.ModelTag = "attControl"
    sim.attControl.guidInMsg.subscribeTo(sim.attError.attGuidOutMsg)
    sim.attControl.vehConfigInMsg.subscribeTo(sim.vehConfigMsg)
    sim.attControl.K = ATT_K
    sim.attControl.P = ATT_P
    sim.attControl.Ki = ATT_KI
    sim.attControl.integralLimit = ATT_INTEGRAL_LIMIT
    sim.AddModelToTask("fswTask", sim.attControl, 70)
    sim.extTorque.cmdTorqueInMsg.subscribeTo(sim.attControl.cmdTorqueOutMsg)

    sim.createNewEvent(
        "footpadContact",
        macros.sec2nano(FSW_STEP),
        eventActive=True,
        conditionFunction=_touched_down,
        terminal=True,
    )
    if retain:
        sim.msgRecList = {"state": sc.scStateOutMsg.recorder(macros.sec2nano(1.0))}
        sim.AddModelToTask("fswTask", sim.msgRecList["state"])
    return sim


def outcome(sim: Any) -> dict[str, float | bool]:
    """What one sample did, read from the final Basilisk messages."""
    st = sim.scObject.scStateOutMsg.read()
    r, v, sigma = np.array(st.r_BN_N), np.array(st.v_BN_N), np.array(st.sigma_BN)
    up = r / np.linalg.norm(r)
    vz = float(v @ up)
    vh = float(np.linalg.norm(v - vz * up))
    c_bn = _mrp_to_dcm(sigma)  # its third row is body +z in N
    tilt = math.degrees(math.acos(min(1.0, max(-1.0, float(c_bn[2] @ up)))))
    t = sim.TotalSim.CurrentNanos * 1e-9
    fuel = sim.tank.fuelTankOutMsg.read().fuelMass
    landed = bool(np.linalg.norm(r) - R_MOON <= FOOTPAD_DEPTH)
    return {
        "time_s": t,
        "touched_down": landed,
        "soft": landed and -vz <= 3.0 and vh <= 1.0 and tilt <= 12.0,
        "altitude_m": float(np.linalg.norm(r) - R_MOON - FOOTPAD_DEPTH),
        "vertical_speed_mps": -vz,
        "horizontal_speed_mps": vh,
        "tilt_deg": tilt,
        "propellant_used_kg": float(sim.tankModel.propMassInit) - fuel,
        "propellant_left_kg": fuel,
        "main_engine_on_s": sim.guidance.main_on_s,
        "thrusters_on_s": sim.guidance.thr_on_s,
    }


def _tilde(x: np.ndarray) -> np.ndarray:
    return np.array([[0.0, -x[2], x[1]], [x[2], 0.0, -x[0]], [-x[1], x[0], 0.0]])


def _mrp_to_dcm(sigma: np.ndarray) -> np.ndarray:
    """[BN] from the MRP sigma_BN (Schaub & Junkins eq. 3.152)."""
    s2 = float(sigma @ sigma)
    t = _tilde(sigma)
    return np.eye(3) + (8.0 * t @ t - 4.0 * (1.0 - s2) * t) / (1.0 + s2) ** 2


def execute_descent(sim: Any, filename: str) -> None:
    """Fly one sample (the Controller's execution function) and write its outcome JSON.

    The two-argument form receives the run's archive path (``<archive>/run<i>``) from the
    Controller; the outcome goes to ``run<i>.outcome.json`` beside its ``run<i>.json``.
    """
    t_init = time.perf_counter()
    sim.InitializeSimulation()
    sim.ConfigureStopTime(macros.sec2nano(T_MAX))
    t_fly = time.perf_counter()
    sim.ExecuteSimulation()
    t_end = time.perf_counter()
    out: dict[str, Any] = outcome(sim)
    out["build_s"] = t_init - sim.t_build
    out["init_s"] = t_fly - t_init
    out["fly_s"] = t_end - t_fly
    Path(filename + ".outcome.json").write_text(json.dumps(out))


def _summary(values: list[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values), "min": min(values), "max": max(values)}


def run_basilisk_campaign(
    n_samples: int, threads: int, out_dir: Path, retain: bool = False
) -> dict[str, Any]:
    """Fly n_samples dispersed descents through Basilisk's Monte Carlo Controller.

    ``out_dir / "basilisk-mc"`` is the Controller's archive (it deletes and recreates it).
    Returns ``samples``, ``threads``, ``wall_s`` (the whole ``executeSimulations`` call, process
    pools included), ``s_per_sample``, ``in_worker_s_per_sample`` (build + initialise + fly,
    summed over the samples, over n), ``failed`` and ``outcomes`` (per-metric mean / min / max
    and the counts of touchdowns and soft landings).

    retain adds what most Basilisk Monte Carlo scripts have, a ``RetentionPolicy`` (here the
    spacecraft state at 1 Hz, written by the Controller's DataWriter process). Basilisk 2.12's
    worker sleeps 1 s after queueing each run's retained data, so this costs about 1 s per
    sample per process; it is off by default so as not to charge Basilisk for it.
    """
    archive = Path(out_dir).resolve() / "basilisk-mc"
    archive.parent.mkdir(parents=True, exist_ok=True)
    mc = Controller()
    mc.setSimulationFunction(partial(create_descent_sim, retain))
    mc.setExecutionFunction(execute_descent)
    mc.setExecutionCount(n_samples)
    mc.setThreadCount(threads)
    mc.setShouldDisperseSeeds(True)
    mc.setArchiveDir(str(archive))
    mc.addDispersion(NormalDispersion("tankModel.propMassInit", PROPELLANT, PROPELLANT_SIGMA))
    mc.addDispersion(NormalDispersion("mainEngine.thrusterMagDisp", 0.0, THRUST_SIGMA))
    for k in range(THR_COUNT):
        mc.addDispersion(NormalDispersion(f"thrusters[{k}].thrusterMagDisp", 0.0, THRUST_SIGMA))
    r0, v0 = initial_state()
    mc.addDispersion(NormalVectorCartDispersion("scObject.hub.r_CN_NInit", r0, POS_SIGMA))
    mc.addDispersion(NormalVectorCartDispersion("scObject.hub.v_CN_NInit", v0, VEL_SIGMA))

    if retain:
        policy = RetentionPolicy(macros.sec2nano(1.0))
        policy.addMessageLog("state", ["r_BN_N", "v_BN_N"])
        mc.addRetentionPolicy(policy)

    t0 = time.perf_counter()
    failed = mc.executeSimulations()
    wall = time.perf_counter() - t0

    runs = []
    for i in range(n_samples):
        f = archive / f"run{i}.outcome.json"
        if f.exists():
            runs.append(json.loads(f.read_text()))
    keys = (
        "time_s",
        "vertical_speed_mps",
        "horizontal_speed_mps",
        "tilt_deg",
        "propellant_used_kg",
        "propellant_left_kg",
        "build_s",
        "init_s",
        "fly_s",
    )
    outcomes: dict[str, Any] = {
        "flown": len(runs),
        "touched_down": sum(r["touched_down"] for r in runs),
        "soft": sum(r["soft"] for r in runs),
    }
    if runs:
        outcomes.update({k: _summary([r[k] for r in runs]) for k in keys})
    return {
        "samples": n_samples,
        "threads": threads,
        "wall_s": wall,
        "s_per_sample": wall / n_samples,
        "in_worker_s_per_sample": sum(r["build_s"] + r["init_s"] + r["fly_s"] for r in runs)
        / n_samples,
        "retain": retain,
        "failed": list(failed),
        "outcomes": outcomes,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=[1, 2],
        help="Controller thread (process) counts to time, one campaign each",
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=None,
        help="directory for the Controller archive (default: a temporary one)",
    )
    ap.add_argument(
        "--retain",
        action="store_true",
        help="also retain the state at 1 Hz through a RetentionPolicy (costs ~1 s per sample)",
    )
    args = ap.parse_args()
    tmp = None
    out = args.out
    if out is None:
        tmp = tempfile.mkdtemp(prefix="bsk-descent-")
        out = Path(tmp)
    try:
        for th in args.threads:
            res = run_basilisk_campaign(args.samples, th, out / f"threads{th}", args.retain)
            print(json.dumps(res, indent=1))
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
