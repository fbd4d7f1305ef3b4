"""The compiled simulation loop: sensors -> flight software -> engines -> dynamics -> contact.

Time is integer ticks (``TICK_S``). The flight software runs on a grid of ``cycle`` ticks; at
the end of each cycle it says how many cycles it will sleep through (``sleep_cycles``: 0 at full
rate, the coast cycle while it coasts with the engines off), and the sensors are read when it
wakes: the IMU reports the increments over the whole interval, the star tracker and the range
finder a reading when one fell due in it (every ``st_every`` and ``lrf_every`` cycles).
Between two wake-ups the world advances with the commands held, in steps as long as the
engines allow: a powered cycle is one step (``burn_pulses``: thrust in closed form over the
10 ms pulses, gravity in one RK4 step), a coast one RK4 step for the whole interval
(``substep``), and only where ``contact_possible`` cannot rule contact out within a step does
the loop take 10 ms ``substep`` steps and check contact after each. Thrust pulses, the
attitude's turn pulse by pulse, the tanks running dry and contact keep the ``substep``
(pulse) resolution. A propellant leak (a fault) starts on the pulse grid and a step ends
there, so every step leaks throughout or not at all, however long. ``advance`` runs until the
first step boundary at or after ``until_tick`` or the end of the flight, so a host can run it
in chunks (for pacing, uplink or telemetry) or in one call, with the same numbers either way.

Speed: ``_sense`` and ``_fly``, and the world's kernels they call every cycle (the IMU, star
tracker and range finder, the contact bound, the powered step), are inlined into ``advance``
(``kernel(inline=True)``, Numba's own inlining). A call between kernels passes every array as
its seven machine words (data, shape, strides...) and every bundle as several arrays; these
calls were about a fifth of a flight's time (M1: 15.4 -> 12.1 ms of one core). The arithmetic
is the same, so are the numbers, bit for bit.
"""

import math

import numpy as np

from touchdown._compile import kernel
from touchdown.core.engines import group_thrust
from touchdown.core.eventlog import log_event
from touchdown.core.layout import (
    C_ALT_EVERY,
    C_CYCLE,
    C_LAST_READ,
    C_LRF_EVERY,
    C_MAX_TICK,
    C_NEXT_FSW,
    C_ST_EVERY,
    C_SUBSTEP,
    C_TICK,
    C_VEL_EVERY,
    E_CODE,
    E_T,
    EV_CONTACT,
    EV_LRF_REJ,
    EV_PROP_OUT,
    EV_TIMEOUT,
    F_ALT,
    F_CMD_DIR,
    F_CMD_DUTY,
    F_CMD_LIT,
    F_CMD_MAIN,
    F_HDA,
    F_HDOT,
    F_LRF_LAST,
    F_MODE,
    F_PROP,
    F_SLEEP,
    F_X,
    FLYING,
    FP_AZ,
    FP_SITE,
    HAZARD_N,
    LANDED,
    LL_LAT,
    LL_LON,
    LL_RADIUS,
    M_ALTIMETER,
    M_HAZARD,
    M_HAZARD_VALID,
    M_LRF,
    M_PROBE,
    M_ST_VALID,
    M_VELOCIMETER,
    MAX_BEAMS,
    MAX_PULSES,
    N_BEAM_WORDS,
    N_ENGINE_GROUP,
    N_FSW_SCRATCH,
    N_LATLON,
    N_MOON_TURN,
    N_RADAR_BEAM,
    N_SCRATCH_ALTITUDE,
    N_STEP_SCRATCH,
    N_WORLD_SCRATCH,
    RC_ALTITUDE,
    RC_LATLON,
    RC_R,
    RC_UP,
    RC_UP_MCI,
    RC_V,
    RC_Z_MCI,
    SP_FSW,
    SP_WORLD,
    T_ALT,
    T_ALT_EST,
    T_DOWNRANGE,
    T_HEIGHT_EST,
    T_HS,
    T_LAT,
    T_LON,
    T_LRF,
    T_LRF_ACC,
    T_LRF_PRED,
    T_LRF_TRUE,
    T_MODE,
    T_POS_ERR,
    T_PROP,
    T_PROP_EST,
    T_T,
    T_TERRAIN,
    T_THRUST,
    T_TILT,
    T_VS,
    T_VS_EST,
    TICK_S,
    TIMEOUT,
    W_ALT,
    W_IMPULSE,
    W_LRF_TRUE,
    W_MAIN_LIT,
    W_PROP,
    W_PROP_OUT_T,
    W_Q,
    W_R,
    W_REJ1,
    W_STATUS,
    W_T,
    W_TD,
    W_TERRAIN_H,
    W_TURN,
    W_V,
    WP_ALTIMETER,
    WP_DRY,
    WP_HAZARD,
    WP_LEAK,
    WP_LRF_MAX,
    WP_MAIN,
    WP_PROBE,
    WP_THRUSTERS,
    WP_VEL_BEAMS,
    WP_VELOCIMETER,
)
from touchdown.core.quaternion import body_z_mci
from touchdown.fsw.cycle import fsw_cycle
from touchdown.moon.constants import R_REF
from touchdown.moon.frames import latlon_from_mcmf, mcmf_from_mci_turned, moon_turn, turn_z
from touchdown.world.contact import classify_contact, contact_possible, update_altitude
from touchdown.world.dynamics import burn_pulses, main_start, substep
from touchdown.world.hazard_map import read_hazard_map
from touchdown.world.radar import read_radar_beams
from touchdown.world.sensors import (
    read_altimeter,
    read_cycle_steal,
    read_imu,
    read_lrf,
    read_star_tracker,
)

N_WORK = N_STEP_SCRATCH  # scratch words advance takes (``STEP``)


@kernel
def record_row(world, fsw, truth, record, work):
    """Append one trace row (truth beside the flight software's view) if there is room.
    work: ``SCRATCH_RECORD``."""
    trace, n_trace = record.trace, record.n_trace
    k = n_trace[0]
    if k >= trace.shape[0]:
        return
    w, wp, x, fp, meas = world.state, world.params, fsw.state, fsw.params, fsw.meas
    update_altitude(w, wp, truth.elev, truth.meta,
                    work[RC_ALTITUDE:RC_ALTITUDE + N_SCRATCH_ALTITUDE])
    row = trace[k]
    r_m, v_m = work[RC_R:RC_R + 3], work[RC_V:RC_V + 3]
    ll = work[RC_LATLON:RC_LATLON + N_LATLON]
    t = w[W_T]
    c, s = moon_turn(t, w[W_TURN:W_TURN + N_MOON_TURN])
    mcmf_from_mci_turned(c, s, w[W_R:W_R + 3], w[W_V:W_V + 3], r_m, v_m)
    latlon_from_mcmf(r_m, ll)
    up = work[RC_UP:RC_UP + 3]
    for i in range(3):
        up[i] = r_m[i] / ll[LL_RADIUS]
    vs = v_m[0] * up[0] + v_m[1] * up[1] + v_m[2] * up[2]
    vh2 = v_m[0] ** 2 + v_m[1] ** 2 + v_m[2] ** 2 - vs * vs
    z_mci, up_mci = work[RC_Z_MCI:RC_Z_MCI + 3], work[RC_UP_MCI:RC_UP_MCI + 3]
    body_z_mci(w[W_Q:W_Q + 4], z_mci)
    turn_z(c, s, up, up_mci)
    cos_tilt = z_mci[0] * up_mci[0] + z_mci[1] * up_mci[1] + z_mci[2] * up_mci[2]
    err2 = 0.0
    for i in range(3):
        err2 += (x[F_X + i] - w[W_R + i]) ** 2
    # downrange: great-circle distance to the site, negative before it along the approach
    lat, lon = ll[LL_LAT], ll[LL_LON]
    lat_s, lon_s = fp[FP_SITE], fp[FP_SITE + 1]
    dlon = lon - lon_s
    north = math.cos(lat_s) * math.sin(lat) - math.sin(lat_s) * math.cos(lat) * math.cos(dlon)
    east = math.cos(lat) * math.sin(dlon)
    ang = math.acos(max(-1.0, min(1.0, math.sin(lat_s) * math.sin(lat)
                                  + math.cos(lat_s) * math.cos(lat) * math.cos(dlon))))
    along = north * math.cos(fp[FP_AZ]) + east * math.sin(fp[FP_AZ])
    row[T_T] = t
    row[T_LAT] = math.degrees(lat)
    row[T_LON] = math.degrees(lon)
    row[T_ALT] = w[W_ALT]
    row[T_TERRAIN] = w[W_TERRAIN_H]
    row[T_ALT_EST] = x[F_ALT]
    row[T_HEIGHT_EST] = math.sqrt(x[F_X] ** 2 + x[F_X + 1] ** 2 + x[F_X + 2] ** 2) - R_REF
    row[T_LRF] = meas[M_LRF]
    row[T_LRF_PRED] = x[F_LRF_LAST + 1]
    row[T_LRF_ACC] = x[F_LRF_LAST + 3]
    row[T_LRF_TRUE] = w[W_LRF_TRUE]
    row[T_VS] = vs
    row[T_HS] = math.sqrt(max(vh2, 0.0))
    row[T_VS_EST] = x[F_HDOT]
    row[T_PROP] = w[W_PROP]
    row[T_PROP_EST] = x[F_PROP]
    row[T_MODE] = x[F_MODE]
    dt_row = t - trace[k - 1, T_T] if k > 0 else 0.0
    row[T_THRUST] = w[W_IMPULSE] / dt_row if dt_row > 0.0 else 0.0
    w[W_IMPULSE] = 0.0
    row[T_TILT] = math.degrees(math.acos(max(-1.0, min(1.0, cos_tilt))))
    row[T_POS_ERR] = math.sqrt(err2)
    row[T_DOWNRANGE] = 1737.4 * ang * (1.0 if along >= 0.0 else -1.0)
    n_trace[0] = k + 1


@kernel(inline=True)
def _sense(world, meas, clock, truth, hazard_request, work):
    """Read the sensors at the flight software's wake-up: the IMU over the interval since the
    last read, the star tracker, the range finder and the altimeter (if any) when one of their
    readings fell due, the contact probes (if any) every time, the hazard map when the flight
    software asked for one (``hazard_request``, its command)."""
    w, wp, rng = world.state, world.params, world.rng
    tick = clock[C_TICK]
    cycle = tick // clock[C_CYCLE]
    last = clock[C_LAST_READ] // clock[C_CYCLE]
    read_imu(w, wp, (tick - clock[C_LAST_READ]) * TICK_S, rng, meas)
    read_cycle_steal(wp, rng, meas)
    clock[C_LAST_READ] = tick
    meas[M_ST_VALID] = 0.0
    if tick == 0 or cycle // clock[C_ST_EVERY] != last // clock[C_ST_EVERY]:
        read_star_tracker(w, wp, rng, meas)
    meas[M_LRF] = math.nan
    if wp[WP_LRF_MAX] > 0.0 and (tick == 0 or cycle // clock[C_LRF_EVERY]
                                 != last // clock[C_LRF_EVERY]):
        read_lrf(w, wp, truth.elev, truth.meta, rng, meas, work)
    meas[M_VELOCIMETER:M_VELOCIMETER + N_RADAR_BEAM * MAX_BEAMS] = math.nan
    n_beams = int(wp[WP_VELOCIMETER])
    if wp[WP_VELOCIMETER + 1] > 0.0 and (tick == 0 or cycle // clock[C_VEL_EVERY]
                                         != last // clock[C_VEL_EVERY]):
        beams = wp[WP_VEL_BEAMS:WP_VEL_BEAMS + N_BEAM_WORDS].reshape(MAX_BEAMS, 3)
        read_radar_beams(w, beams[:n_beams],
                         truth.elev, truth.meta, wp[WP_VELOCIMETER + 1], wp[WP_VELOCIMETER + 2],
                         wp[WP_VELOCIMETER + 3], wp[WP_VELOCIMETER + 4], rng,
                         meas[M_VELOCIMETER:M_VELOCIMETER + N_RADAR_BEAM * MAX_BEAMS].reshape(
                             MAX_BEAMS, N_RADAR_BEAM)[:n_beams], work)
    meas[M_ALTIMETER] = math.nan
    if wp[WP_ALTIMETER] > 0.0 and (tick == 0 or cycle // clock[C_ALT_EVERY]
                                   != last // clock[C_ALT_EVERY]):
        read_altimeter(w, wp, truth.elev, truth.meta, rng, meas, work)
    meas[M_HAZARD_VALID] = 0.0  # the hazard map: once, when the flight software asks
    if hazard_request > 0.5 and wp[WP_HAZARD] > 0.0:
        read_hazard_map(w, truth.elev, truth.meta, wp[WP_HAZARD], wp[WP_HAZARD + 1], rng,
                        meas[M_HAZARD:M_HAZARD + HAZARD_N * HAZARD_N].reshape(HAZARD_N, HAZARD_N),
                        work)
        meas[M_HAZARD_VALID] = 1.0
    meas[M_PROBE] = 0.0  # the contact probes: touching once the ground is within their reach
    if wp[WP_PROBE] > 0.0 and update_altitude(w, wp, truth.elev, truth.meta, work) <= wp[WP_PROBE]:
        meas[M_PROBE] = 1.0


@kernel(inline=True)
def _fly(world, fsw, truth, record, clock, end_tick, stop_tick, work):
    """Advance the world toward end_tick with the flight software's commands held.

    Steps as long as the engines allow (see the module docstring); returns at the first step
    boundary at or after stop_tick, or at end_tick. Returns 1 at contact (footpads at or below
    the true terrain at a substep's end), else 0.
    """
    w, wp, x = world.state, world.params, fsw.state
    elev, meta = truth.elev, truth.meta
    cyc, sub = clock[C_CYCLE], clock[C_SUBSTEP]
    n_on = round(x[F_CMD_DUTY] * (cyc // sub))  # thruster pulses at the start of each cycle
    throttle = main_start(w, wp, x[F_CMD_MAIN])  # what the engine obeys
    main_on = throttle > 0.0
    w[W_MAIN_LIT] = x[F_CMD_LIT]  # the valves feed the engines commanded
    u_cmd = x[F_CMD_DIR:F_CMD_DIR + 3]
    f_max = ((group_thrust(wp[WP_MAIN:WP_MAIN + N_ENGINE_GROUP], 1.0) if main_on else 0.0)
             + (group_thrust(wp[WP_THRUSTERS:WP_THRUSTERS + N_ENGINE_GROUP], 1.0)
                if n_on else 0.0))
    leak_tick = round(wp[WP_LEAK + 1] / TICK_S) if wp[WP_LEAK] > 0.0 else -1  # on the pulse grid
    while clock[C_TICK] < end_tick and clock[C_TICK] < stop_tick:
        tick = clock[C_TICK]
        k = tick % cyc
        burning = (main_on or k < n_on * sub) and w[W_PROP] > 0.0
        if burning:  # to the end of the cycle, in pulses (the engines change only on pulses)
            nxt = min(tick - k + cyc, end_tick, tick + MAX_PULSES * sub)
        elif n_on > 0:
            nxt = min(tick - k + cyc, end_tick)  # coast to the next cycle's pulses
        else:
            nxt = end_tick
        if tick < leak_tick:  # a step leaks throughout or not at all
            nxt = min(nxt, leak_tick)
        accel = f_max / wp[WP_DRY] if burning else 0.0  # m/s^2, bound on the thrust
        check = contact_possible(w, wp, (nxt - tick) * TICK_S, accel, elev, meta, work)
        if check:
            nxt = tick + sub
        if burning and nxt - tick > sub:
            ran_out = burn_pulses(w, wp, u_cmd, throttle, max(n_on - k // sub, 0),
                                  sub * TICK_S, (nxt - tick) // sub, work)
        else:
            ran_out = substep(w, wp, u_cmd, throttle, k < n_on * sub, (nxt - tick) * TICK_S,
                              work)
        if ran_out:
            log_event(record.events, record.n_events, w[W_PROP_OUT_T], EV_PROP_OUT, 0.0)
        w[W_T] = nxt * TICK_S  # time from the tick count: no drift from summed steps
        clock[C_TICK] = nxt
        if check and update_altitude(w, wp, elev, meta, work) <= 0.0:
            return 1
    return 0


@kernel
def _note_first_rejection(world, truth, record, start, work):
    """Keep the time and the true altitude of the flight software's first range-finder rejection
    (simulation truth for campaign tables; the flight software never sees it)."""
    w, events = world.state, record.events
    if not math.isnan(w[W_REJ1]):
        return
    for k in range(start, record.n_events[0]):
        if events[k, E_CODE] == EV_LRF_REJ:
            w[W_REJ1] = events[k, E_T]
            w[W_REJ1 + 1] = update_altitude(w, world.params, truth.elev, truth.meta, work)
            return


@kernel
def advance(world, fsw, terrains, record, clock, until_tick, work):
    """Run the closed loop until ``until_tick`` or the end of the flight; return the status.

    world (``World``), fsw (``FlightSoftware``), terrains (``Terrains``) and record (``Record``)
    are the bundles of ``core.bundles``; clock is ``CLOCK``; work is ``STEP`` scratch. The
    flight software is handed its own bundle and the onboard map only.
    """
    w = world.state
    truth = terrains.truth
    w_world, w_fsw = work[SP_WORLD:SP_WORLD + N_WORLD_SCRATCH], work[SP_FSW:SP_FSW + N_FSW_SCRATCH]
    while clock[C_TICK] < until_tick and w[W_STATUS] == FLYING:
        tick = clock[C_TICK]
        if tick >= clock[C_NEXT_FSW]:  # the flight software wakes up
            _sense(world, fsw.meas, clock, truth, fsw.state[F_HDA], w_world)
            if tick > 0:
                logged = record.n_events[0]
                fsw_cycle(fsw, w[W_T], terrains.onboard, record, w_fsw)
                if record.n_events[0] > logged and math.isnan(w[W_REJ1]):
                    _note_first_rejection(world, truth, record, logged, w_world)
            if record.n_trace[0] < record.trace.shape[0]:  # (a campaign keeps no trace)
                record_row(world, fsw, truth, record, w_world)
            clock[C_NEXT_FSW] = tick + (1 + round(fsw.state[F_SLEEP])) * clock[C_CYCLE]
        end = min(clock[C_NEXT_FSW], clock[C_MAX_TICK])
        if _fly(world, fsw, truth, record, clock, end, until_tick, w_world):
            status = classify_contact(w, world.params, truth.elev, truth.meta, w_world)
            log_event(record.events, record.n_events, w[W_T], EV_CONTACT, w[W_TD + 6])
            if status == LANDED:  # the footpad switches close: the FSW sees them next cycle
                _sense(world, fsw.meas, clock, truth, fsw.state[F_HDA], w_world)
                fsw_cycle(fsw, w[W_T], terrains.onboard, record, w_fsw)
            record_row(world, fsw, truth, record, w_world)
        elif clock[C_TICK] >= clock[C_MAX_TICK]:
            w[W_STATUS] = TIMEOUT
            log_event(record.events, record.n_events, w[W_T], EV_TIMEOUT, w[W_T])
            record_row(world, fsw, truth, record, w_world)
    return w[W_STATUS]


def trace_rows(duration_s: float, cycle_ticks: int) -> int:
    """Rows a trace needs for a flight of duration_s (one per cycle, plus the final rows)."""
    return int(np.ceil(duration_s / (cycle_ticks * TICK_S))) + 4

