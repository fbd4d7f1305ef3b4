"""Sensor models (compiled): IMU, star tracker, laser range finder, footpad switches, and the
flight computer's own time as hardware interrupts leave it.

Inputs / Outputs
==============  =====================================  ==============  ================
name            layout                                 unit            rate
==============  =====================================  ==============  ================
world           ``core.layout.WORLD`` (read; IMU         SI              each FSW cycle
                accumulators reset)
terrain         elev, meta (truth DEM)                 m               LRF readings
meas            ``core.layout.MEAS`` (written)           SI              each FSW cycle
==============  =====================================  ==============  ================

Each model keeps truth and measurement side by side and applies its errors in the order
bias -> scale -> noise -> limits (range window, dropouts). The range finder also carries the
scenario's injected faults (``WP_LRF_BIAS``, ``WP_LRF_OUTAGE``): a bias that appears at a time,
and an outage without readings; the random draws are the same with or without them.
"""

import math

from touchdown._compile import kernel
from touchdown.core.layout import (
    AM_LATLON,
    AM_R,
    FLYING,
    LL_LAT,
    LL_LON,
    LL_RADIUS,
    M_ALTIMETER,
    M_CPU_STEAL,
    M_DTH,
    M_DTH_B,
    M_DV,
    M_DV_B,
    M_IMU_OK,
    M_LEG,
    M_LRF,
    M_ST_Q,
    M_ST_VALID,
    M_T,
    N_LATLON,
    N_MOON_TURN,
    RL_BEAM,
    RL_BEAM_MCMF,
    RL_R,
    W_DTH,
    W_DV,
    W_LRF_TRUE,
    W_Q,
    W_R,
    W_STATUS,
    W_T,
    W_TURN,
    WP_ACC_BIAS,
    WP_ACC_SF,
    WP_ACC_VRW,
    WP_ALTIMETER,
    WP_CYCLE_STEAL,
    WP_GYR_ARW,
    WP_GYR_BIAS,
    WP_IMU_FAIL,
    WP_IMU_UNITS,
    WP_LRF_BEAM,
    WP_LRF_BIAS,
    WP_LRF_DROP,
    WP_LRF_MAX,
    WP_LRF_MIN,
    WP_LRF_NOISE,
    WP_LRF_OUTAGE,
    WP_ST_NOISE,
)
from touchdown.core.quaternion import quat_apply_rotvec, quat_rotate
from touchdown.moon.constants import R_REF
from touchdown.moon.frames import latlon_from_mcmf, moon_turn, turn_z
from touchdown.moon.terrain import ray_cast, terrain_height
from touchdown.world.noise import normal, normal_pair, uniform


@kernel
def latlon_below(world, r_mcmf, ll):
    """The lander's true Moon-fixed position into r_mcmf and its latitude, longitude and radius
    into ll (``LATLON``)."""
    c, s = moon_turn(world[W_T], world[W_TURN:W_TURN + N_MOON_TURN])
    turn_z(c, -s, world[W_R:W_R + 3], r_mcmf)
    latlon_from_mcmf(r_mcmf, ll)


@kernel(inline=True)
def _imu_unit(world, wp, dt, rng, meas, dv_at, dth_at):
    """One unit's accelerometer and gyro increments over the last dt (s) into meas."""
    sq = math.sqrt(dt)
    for i in range(3):
        dv_true = world[W_DV + i]
        n_acc, n_gyr = normal_pair(rng)
        meas[dv_at + i] = ((1.0 + wp[WP_ACC_SF]) * dv_true + wp[WP_ACC_BIAS + i] * dt
                           + wp[WP_ACC_VRW] * sq * n_acc)
        meas[dth_at + i] = (world[W_DTH + i] + wp[WP_GYR_BIAS + i] * dt
                            + wp[WP_GYR_ARW] * sq * n_gyr)


@kernel(inline=True)
def read_imu(world, wp, dt, rng, meas):
    """Accelerometer and gyro increments over the last dt (s) of each unit aboard (unit B, if
    any, drawing its noise after A's); resets the world's accumulators. A failed unit (the
    ``WP_IMU_FAIL`` fault, unit A) reports nothing: NaN increments, its flag at 0."""
    _imu_unit(world, wp, dt, rng, meas, M_DV, M_DTH)
    meas[M_IMU_OK] = 1.0
    meas[M_IMU_OK + 1] = 0.0
    if wp[WP_IMU_UNITS] > 1.0:
        _imu_unit(world, wp, dt, rng, meas, M_DV_B, M_DTH_B)
        meas[M_IMU_OK + 1] = 1.0
    if wp[WP_IMU_FAIL] > 0.0 and world[W_T] >= wp[WP_IMU_FAIL]:
        meas[M_IMU_OK] = 0.0
        for i in range(3):
            meas[M_DV + i] = math.nan
            meas[M_DTH + i] = math.nan
    for i in range(3):
        world[W_DV + i] = 0.0
        world[W_DTH + i] = 0.0
    meas[M_T] = world[W_T]
    meas[M_LEG] = 0.0 if world[W_STATUS] == FLYING else 1.0


@kernel(inline=True)
def read_star_tracker(world, wp, rng, meas):
    """An attitude fix: the true attitude turned by a small random rotation (noise per axis)."""
    for i in range(4):
        meas[M_ST_Q + i] = world[W_Q + i]
    s = wp[WP_ST_NOISE]
    quat_apply_rotvec(meas[M_ST_Q:M_ST_Q + 4], s * normal(rng), s * normal(rng),
                      s * normal(rng), False)
    meas[M_ST_VALID] = 1.0


@kernel(inline=True)
def read_lrf(world, wp, elev, meta, rng, meas, work):
    """Slant range along the beam to where it meets the true terrain, or NaN without a reading.

    No reading when the terrain is beyond the maximum range (or the beam misses the Moon),
    closer than the minimum range, on a random dropout, or during an outage (fault). From the
    bias fault's start the reading is off by the bias; the range window is judged on the true
    range. The range is measured from the centre of mass (the sensor's lever arm, under 1 m, is
    neglected). The dropout and the noise are drawn for every reading, faults or not, so a
    fault changes no other random number. work: ``SCRATCH_READ_LRF``.
    """
    beam_mci, beam_mcmf = work[RL_BEAM:RL_BEAM + 3], work[RL_BEAM_MCMF:RL_BEAM_MCMF + 3]
    r_mcmf = work[RL_R:RL_R + 3]
    quat_rotate(world[W_Q:W_Q + 4], wp[WP_LRF_BEAM:WP_LRF_BEAM + 3], beam_mci)
    c, s = moon_turn(world[W_T], world[W_TURN:W_TURN + N_MOON_TURN])
    turn_z(c, -s, beam_mci, beam_mcmf)
    turn_z(c, -s, world[W_R:W_R + 3], r_mcmf)
    rho = ray_cast(elev, meta, r_mcmf, beam_mcmf, wp[WP_LRF_MAX])
    world[W_LRF_TRUE] = rho
    drop = uniform(rng) < wp[WP_LRF_DROP]
    noise = wp[WP_LRF_NOISE] * normal(rng)
    t = world[W_T]
    t_out, out_s = wp[WP_LRF_OUTAGE], wp[WP_LRF_OUTAGE + 1]
    out = out_s > 0.0 and t >= t_out and t < t_out + out_s
    if math.isnan(rho) or rho < wp[WP_LRF_MIN] or drop or out:
        meas[M_LRF] = math.nan
    else:
        reading = rho
        if wp[WP_LRF_BIAS] != 0.0 and t >= wp[WP_LRF_BIAS + 1]:
            reading += wp[WP_LRF_BIAS]
        meas[M_LRF] = reading + noise


@kernel
def read_altimeter(world, wp, elev, meta, rng, meas, work):
    """The altimeter's reading: the height of the centre of mass above the true terrain straight
    below (a radar's or a wide laser beam's nearest ground, whatever the attitude), plus noise;
    NaN above its highest altitude, on a dropout, or off the terrain model. The dropout and
    the noise are drawn for every reading. work: ``SCRATCH_ALTIMETER``.
    """
    r_mcmf, ll = work[AM_R:AM_R + 3], work[AM_LATLON:AM_LATLON + N_LATLON]
    latlon_below(world, r_mcmf, ll)
    drop = uniform(rng) < wp[WP_ALTIMETER + 2]
    noise = wp[WP_ALTIMETER + 1] * normal(rng)
    height = ll[LL_RADIUS] - R_REF - terrain_height(elev, meta, ll[LL_LAT], ll[LL_LON])
    if math.isnan(height) or height > wp[WP_ALTIMETER] or drop:
        meas[M_ALTIMETER] = math.nan
    else:
        meas[M_ALTIMETER] = height + noise


@kernel(inline=True)
def read_cycle_steal(wp, rng, meas):
    """The share of the flight computer's time a hardware interface took over the cycle (the
    fault ``WP_CYCLE_STEAL``: Apollo 11's rendezvous radar): its mean, spread uniformly; no
    draw without the fault."""
    mean, spread = wp[WP_CYCLE_STEAL], wp[WP_CYCLE_STEAL + 1]
    meas[M_CPU_STEAL] = 0.0
    if mean > 0.0:
        meas[M_CPU_STEAL] = mean + spread * (2.0 * uniform(rng) - 1.0)
