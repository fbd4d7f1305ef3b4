"""The only source of array layouts: the clock, world state, world params, measurements, FSW
state, FSW params, the per-cycle trace, event codes and outcome codes.

Every compiled kernel reads and writes flat float64 arrays through the integer indices defined
here. The world and the flight software have separate arrays: FSW kernels are given ``meas``,
``fsw`` and ``fsw_params`` only, never ``world`` or ``world_params`` (flight software never reads
truth).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Layout:
    """Named fields of a flat float64 array: each has a start index, size, unit and meaning."""

    name: str
    fields: dict[str, tuple[int, int, str, str]] = field(default_factory=dict)
    size: int = 0

    def add(self, name: str, n: int, unit: str, doc: str) -> int:
        if name in self.fields:
            raise ValueError(f"{self.name}: field {name} defined twice")
        self.fields[name] = (self.size, n, unit, doc)
        self.size += n
        return self.fields[name][0]

    def slice(self, name: str) -> slice:
        start, n, _, _ = self.fields[name]
        return slice(start, start + n)


TICK_S = 1e-3  # s, one tick of the simulation clock: every time in the loop is a whole number

# ---------------------------------------------------------------- the loop's clock (int64)
CLOCK = Layout("clock")  # a zeroed clock starts with a flight-software cycle at tick 0
C_TICK = CLOCK.add("tick", 1, "tick", "simulation time")
C_CYCLE = CLOCK.add("cycle", 1, "tick", "flight-software cycle")
C_SUBSTEP = CLOCK.add("substep", 1, "tick", "dynamics substep: the thrusters' pulse resolution")
C_ST_EVERY = CLOCK.add("star_tracker_every", 1, "cycles", "cycles between star-tracker fixes")
C_LRF_EVERY = CLOCK.add("lrf_every", 1, "cycles", "cycles between range-finder readings")
C_MAX_TICK = CLOCK.add("max_tick", 1, "tick", "the flight's time limit")
C_NEXT_FSW = CLOCK.add("next_fsw", 1, "tick", "the flight software's next wake-up")
C_LAST_READ = CLOCK.add("last_read", 1, "tick", "the IMU's last read (its increments start here)")
N_CLOCK = CLOCK.size

# ---------------------------------------------------------------- world (truth) state
WORLD = Layout("world")
W_T = WORLD.add("t", 1, "s", "simulation time since the scenario epoch")
W_R = WORLD.add("r_mci", 3, "m", "true position, Moon-centred inertial")
W_V = WORLD.add("v_mci", 3, "m/s", "true velocity, inertial")
W_Q = WORLD.add("q_body_mci", 4, "-", "attitude quaternion (w, x, y, z) rotating body to mci")
W_OMEGA = WORLD.add("omega_body", 3, "rad/s", "true body rate over the last substep")
W_PROP = WORLD.add("propellant", 1, "kg", "true propellant remaining")
W_DV = WORLD.add("dv_body", 3, "m/s", "non-gravitational delta-v since the last IMU read")
W_DTH = WORLD.add("dtheta_body", 3, "rad", "rotation since the last IMU read")
W_STATUS = WORLD.add("status", 1, "-", "outcome code: FLYING, LANDED, CRASHED, TIMEOUT")
W_ALT = WORLD.add("altitude", 1, "m", "true height of the footpads above the terrain below")
W_TERRAIN_H = WORLD.add("terrain_h", 1, "m", "true terrain height below, above R_REF")
W_TD = WORLD.add("contact", 7, "-",
                 "t (s), lat (rad), lon (rad), vertical (m/s), horizontal (m/s), tilt (rad), "
                 "speed (m/s) at first contact")
W_PROP_OUT_T = WORLD.add("propellant_out_t", 1, "s", "time propellant ran out (NaN if not)")
W_LRF_TRUE = WORLD.add("lrf_true_range", 1, "m", "true range along the beam (NaN: no terrain)")
W_IMPULSE = WORLD.add("impulse", 1, "N s", "true engine impulse since the last trace row")
W_REJ1 = WORLD.add("first_lrf_rejection", 2, "s, m",
                   "time of the flight software's first range-finder rejection and the true "
                   "altitude then (NaN: none), for campaign tables")
W_TURN = WORLD.add("moon_turn", 3, "s, -, -",
                   "memo of the Moon's turn: t and the cos, sin of OMEGA t (``moon_turn``)")
W_TERRAIN_BOX = WORLD.add("terrain_box", 5, "-, -, -, -, m",
                          "contact search: a cap of the Moon (centre, a unit vector in mcmf; "
                          "chord radius) and a bound on the true terrain height in it; unset "
                          "while the chord radius is 0")
N_WORLD = WORLD.size

# ---------------------------------------------------------------- world parameters
WORLD_PARAMS = Layout("world_params")
WP_DRY = WORLD_PARAMS.add("dry_mass", 1, "kg", "dry mass incl. payload")
WP_MAIN_F = WORLD_PARAMS.add("main_thrust", 1, "N", "main engine true thrust")
WP_MAIN_ISP = WORLD_PARAMS.add("main_isp", 1, "s", "main engine true specific impulse")
WP_THR_F = WORLD_PARAMS.add("thruster_thrust", 1, "N", "one descent thruster, true thrust")
WP_THR_N = WORLD_PARAMS.add("thruster_count", 1, "-", "number of descent thrusters")
WP_THR_ISP = WORLD_PARAMS.add("thruster_isp", 1, "s", "descent thruster true specific impulse")
WP_SLEW = WORLD_PARAMS.add("slew_rate_max", 1, "rad/s", "attitude rate limit")
WP_ACC_BIAS = WORLD_PARAMS.add("accel_bias", 3, "m/s^2", "accelerometer bias, body")
WP_ACC_SF = WORLD_PARAMS.add("accel_scale", 1, "-", "accelerometer scale-factor error")
WP_ACC_VRW = WORLD_PARAMS.add("accel_vrw", 1, "m/s/sqrt(s)", "velocity random walk")
WP_GYR_BIAS = WORLD_PARAMS.add("gyro_bias", 3, "rad/s", "gyro bias, body")
WP_GYR_ARW = WORLD_PARAMS.add("gyro_arw", 1, "rad/sqrt(s)", "angle random walk")
WP_ST_NOISE = WORLD_PARAMS.add("star_tracker_noise", 1, "rad", "1-sigma per axis")
WP_ST_PERIOD = WORLD_PARAMS.add("star_tracker_period", 1, "s", "time between attitude fixes")
WP_LRF_NOISE = WORLD_PARAMS.add("lrf_noise", 1, "m", "range noise 1-sigma")
WP_LRF_MAX = WORLD_PARAMS.add("lrf_max_range", 1, "m", "maximum range")
WP_LRF_MIN = WORLD_PARAMS.add("lrf_min_range", 1, "m", "minimum range")
WP_LRF_DROP = WORLD_PARAMS.add("lrf_dropout", 1, "-", "probability a reading is missing")
WP_LRF_BEAM = WORLD_PARAMS.add("lrf_beam_body", 3, "-", "unit beam direction, body")
WP_LRF_PERIOD = WORLD_PARAMS.add("lrf_period", 1, "s", "time between readings")
WP_FOOT = WORLD_PARAMS.add("footpad_depth", 1, "m", "centre of mass above the footpad plane")
WP_LIM = WORLD_PARAMS.add("landing_limits", 3, "m/s, m/s, rad",
                          "max vertical speed, max horizontal speed, max tilt for 'landed'")
# injected faults of the real lander (scenario [faults]); the flight software never sees them
WP_LRF_BIAS = WORLD_PARAMS.add("lrf_bias", 2, "m, s",
                               "fault: offset added to every range reading from a time on")
WP_LRF_OUTAGE = WORLD_PARAMS.add("lrf_outage", 2, "s, s",
                                 "fault: no range readings from a time, for a duration (0: none)")
WP_LEAK = WORLD_PARAMS.add("propellant_leak", 2, "kg/s, s",
                           "fault: propellant lost from the tank from a time on (0: none); the "
                           "time is on the pulse grid (``sim.run.build`` rounds it up)")
N_WORLD_PARAMS = WORLD_PARAMS.size

# ---------------------------------------------------------------- measurements (world -> FSW)
MEAS = Layout("meas")
M_T = MEAS.add("t", 1, "s", "flight computer clock")
M_DV = MEAS.add("imu_dv_body", 3, "m/s", "accelerometer delta-v over the cycle")
M_DTH = MEAS.add("imu_dtheta_body", 3, "rad", "gyro delta-angle over the cycle")
M_ST_VALID = MEAS.add("star_tracker_valid", 1, "-", "1 when a fix arrived this cycle")
M_ST_Q = MEAS.add("star_tracker_q", 4, "-", "measured q_body_mci")
M_LRF = MEAS.add("lrf_range", 1, "m", "slant range, NaN when no reading")
M_LEG = MEAS.add("leg_contact", 1, "-", "1 when a footpad switch closed")
N_MEAS = MEAS.size

# ---------------------------------------------------------------- flight-software state
FSW = Layout("fsw")
F_X = FSW.add("x_mci", 6, "m, m/s", "navigation estimate: position, velocity (inertial)")
F_P = FSW.add("cov", 36, "m^2 ...", "navigation covariance, 6x6 row-major")
F_Q = FSW.add("q_body_mci", 4, "-", "attitude estimate")
F_PROP = FSW.add("propellant", 1, "kg", "propellant estimate from commanded burn time")
F_MODE = FSW.add("mode", 1, "-", "guidance mode code (MODE_*)")
F_MODE_T = FSW.add("mode_t", 1, "s", "time the mode was entered")
F_LRF_STATE = FSW.add("lrf_state", 1, "-", "LRF_* code: waiting, tracking, faulty")
F_LRF_NACC = FSW.add("lrf_accepted_n", 1, "-", "readings accepted since acquisition")
F_LRF_NREJ = FSW.add("lrf_rejected_run", 1, "-", "consecutive rejected readings")
F_LRF_LAST = FSW.add("lrf_last", 4, "m, m, -, -",
                     "last reading: range, predicted range, NIS, accepted (1/0)")
F_ALT = FSW.add("altitude", 1, "m", "estimated height above the surface below (FSW's model)")
F_HDOT = FSW.add("hdot", 1, "m/s", "estimated vertical speed")
F_VH = FSW.add("v_horizontal", 1, "m/s", "estimated horizontal speed over the surface")
F_CMD_DIR = FSW.add("thrust_dir_mci", 3, "-", "commanded thrust direction")
F_CMD_MAIN = FSW.add("main_on", 1, "-", "main engine command (1 on)")
F_CMD_DUTY = FSW.add("thruster_duty", 1, "-", "descent thrusters duty cycle 0..1")
F_DOI_DV = FSW.add("doi_dv", 1, "m/s", "accumulated measured delta-v of the DOI burn")
F_TGO = FSW.add("tgo", 1, "s or m/s",
                "time-to-go of the current guidance phase; in DOI the delta-v target")
F_ALT_ZERO_SEEN = FSW.add("altitude_zero_seen", 1, "-",
                          "1 once the altitude estimate reached zero (logged once)")
F_PROP_LOW_SEEN = FSW.add("propellant_low_seen", 1, "-",
                          "1 once the propellant estimate reached the reserve (logged once)")
F_SPARE = FSW.add("spare", 2, "-", "unused (kept so the layout after it is unchanged)")
F_SLEEP = FSW.add("sleep_cycles", 1, "-",
                  "cycles the flight software sleeps through before its next one (0: every "
                  "cycle); chosen each cycle, so it also gives the interval just flown")
F_GUID_DCM = FSW.add("dcm_guid_mcmf", 9, "-",
                     "guidance frame: rows downrange, crossrange, up (mcmf components), row-major;"
                     " computed with r_site_mcmf at the first guidance cycle")
F_SITE_MCMF = FSW.add("r_site_mcmf", 3, "m", "landing site, Moon-fixed (zero until computed)")
F_IGN_LAST = FSW.add("ignition_throttle_last", 1, "-",
                     "descent coast: fraction of full thrust the braking guidance needed at "
                     "the previous cycle (0: not evaluated)")
F_TURN = FSW.add("moon_turn", 3, "s, -, -",
                 "memo of the Moon's turn: t and the cos, sin of OMEGA t (``moon_turn``)")
N_FSW = FSW.size

# ---------------------------------------------------------------- flight-software params
FSW_PARAMS = Layout("fsw_params")
FP_DT = FSW_PARAMS.add("cycle", 1, "s", "flight-software cycle")
FP_COAST_DT = FSW_PARAMS.add("coast_cycle", 1, "s",
                             "cycle while coasting with the engines off (a multiple of cycle)")
FP_DRY = FSW_PARAMS.add("dry_mass", 1, "kg", "dry mass (onboard value)")
FP_MAIN_F = FSW_PARAMS.add("main_thrust", 1, "N", "nominal main thrust")
FP_MAIN_ISP = FSW_PARAMS.add("main_isp", 1, "s", "nominal main Isp")
FP_THR_F = FSW_PARAMS.add("thruster_thrust", 1, "N", "nominal one-thruster thrust")
FP_THR_N = FSW_PARAMS.add("thruster_count", 1, "-", "descent thrusters")
FP_THR_ISP = FSW_PARAMS.add("thruster_isp", 1, "s", "nominal thruster Isp")
FP_SITE = FSW_PARAMS.add("site", 3, "rad, rad, m", "target lat, lon, onboard site height")
FP_AZ = FSW_PARAMS.add("approach_azimuth", 1, "rad", "approach heading, from north to east")
FP_POLICY = FSW_PARAMS.add("policy", 1, "-", "POLICY_AS_FLOWN_M1 or POLICY_TERRAIN_AWARE")
FP_GATE = FSW_PARAMS.add("gate_nis", 1, "-", "chi-square gate on the normalised innovation")
FP_FAULT_N = FSW_PARAMS.add("fault_run", 1, "-", "consecutive rejections judged a fault")
FP_ACQ_N = FSW_PARAMS.add("acquire_n", 1, "-", "readings accepted ungated on acquisition")
FP_REACQ_N = FSW_PARAMS.add("reacquire_run", 1, "-",
                            "terrain-aware: consecutive rejections before the estimate's "
                            "uncertainty is widened to re-acquire")
FP_LRF_SIGMA = FSW_PARAMS.add("lrf_sigma", 2, "m, -",
                              "filter's range noise: sigma = a + b * estimated altitude")
FP_LRF_MAX = FSW_PARAMS.add("lrf_max_range", 1, "m", "maximum range (for prediction)")
FP_BEAM = FSW_PARAMS.add("lrf_beam_body", 3, "-", "beam direction, body (onboard value)")
FP_Q_ACC = FSW_PARAMS.add("accel_psd", 1, "m^2/s^3", "process noise, acceleration PSD")
FP_DOI_T = FSW_PARAMS.add("doi_time", 1, "s", "DOI ignition time")
FP_PERILUNE = FSW_PARAMS.add("perilune_altitude", 1, "m", "DOI target perilune altitude")
FP_IGN_THROTTLE = FSW_PARAMS.add("ignition_throttle", 1, "-",
                                 "braking starts when guidance needs this fraction of full "
                                 "thrust")
FP_BRAKE_TGT = FSW_PARAMS.add("braking_target", 12, "m, m/s, m/s^2, m/s^3",
                              "high gate r, v, a, j in the guidance frame")
FP_APPR_TGT = FSW_PARAMS.add("approach_target", 12, "m, m/s, m/s^2, m/s^3",
                             "vertical gate r, v, a, j in the guidance frame")
FP_APPR_T = FSW_PARAMS.add("approach_duration", 1, "s", "duration of the approach phase")
FP_TGO_MIN = FSW_PARAMS.add("tgo_switch", 1, "s", "phase ends when time-to-go falls below")
FP_DESCENT = FSW_PARAMS.add("descent_profile", 3, "m/s^2, m/s, s",
                            "vertical phases: deceleration, final speed, rate time constant")
FP_HGAIN = FSW_PARAMS.add("horizontal_gains", 2, "1/s^2, 1/s",
                          "vertical phases: position and velocity gains over the site")
FP_TILT_MAX = FSW_PARAMS.add("tilt_max", 1, "rad", "vertical phases: thrust tilt limit")
FP_TERMINAL_ALT = FSW_PARAMS.add("terminal_altitude", 1, "m", "terminal descent starts below")
FP_PULSE = FSW_PARAMS.add("pulse_resolution", 1, "s", "thruster on-time resolution")
FP_RESERVE = FSW_PARAMS.add("propellant_reserve", 1, "kg", "estimated propellant lower limit")
FP_INIT_SIG = FSW_PARAMS.add("init_sigma", 2, "m, m/s", "initial position/velocity 1-sigma")
FP_IGN_TGO_MAX = FSW_PARAMS.add("ignition_search_tgo", 1, "s",
                                "descent coast: braking ignition is considered only while the "
                                "braking guidance's time to go is below this")
FP_GUID_RANGE_COS = FSW_PARAMS.add("guidance_range_cos", 1, "-",
                                   "polynomial guidance only within this cosine of the angle "
                                   "from the site (the site frame means nothing farther away)")
FP_WAKE = FSW_PARAMS.add("wake", 2, "-, cycles",
                         "descent coast: full rate once the needed throttle is within the "
                         "margin of ignition_throttle, or would reach it within the cycles")
FP_LRF_INCIDENCE_COS = FSW_PARAMS.add("lrf_incidence_cos_min", 1, "-",
                                      "a range reading is used only where the beam meets the "
                                      "modelled surface at a cosine of incidence above this")
N_FSW_PARAMS = FSW_PARAMS.size

# ---------------------------------------------------------------- codes
FLYING, LANDED, CRASHED, TIMEOUT = 0, 1, 2, 3
OUTCOMES = ("flying", "landed", "crashed", "timeout")

POLICY_AS_FLOWN_M1, POLICY_TERRAIN_AWARE = 0, 1
POLICIES = ("as_flown_m1", "terrain_aware")

(MODE_COAST_ORBIT, MODE_DOI, MODE_COAST_DESCENT, MODE_BRAKING, MODE_APPROACH,
 MODE_VERTICAL, MODE_TERMINAL, MODE_TOUCHDOWN) = range(8)
MODES = ("orbit_coast", "doi", "descent_coast", "braking", "approach",
         "vertical_descent", "terminal_descent", "touchdown")

LRF_WAITING, LRF_TRACKING, LRF_FAULTY = 0, 1, 2
LRF_STATES = ("waiting", "tracking", "faulty")

# Events: (code, name, meaning of the value). Flight software and world both log them.
EVENTS = (
    (0, "doi_start", "mode change: descent orbit insertion burn"),
    (1, "doi_end", "measured delta-v (m/s)"),
    (2, "braking_start", "estimated altitude (m)"),
    (3, "approach_start", "estimated altitude (m)"),
    (4, "vertical_descent_start", "estimated altitude (m)"),
    (5, "terminal_descent_start", "estimated altitude (m)"),
    (6, "lrf_acquired", "slant range (m)"),
    (7, "lrf_rejected", "innovation: measured - predicted range (m)"),
    (8, "lrf_fault_declared", "innovation (m); range finder ignored from now on"),
    (9, "lrf_reacquired", "innovation (m)"),
    (10, "altitude_estimate_zero", "true altitude at that moment is not known onboard"),
    (11, "propellant_low", "estimated propellant (kg)"),
    (12, "propellant_exhausted", "true: engines give no thrust from now on (kg left)"),
    (13, "touchdown_detected", "footpad switch"),
    (14, "contact", "true speed at first contact (m/s)"),
    (15, "lrf_widened", "terrain-aware: covariance widened to re-acquire, innovation (m)"),
    (16, "timeout", "simulation time limit reached (s)"),
)
EV = {name: code for code, name, _ in EVENTS}
(EV_DOI_START, EV_DOI_END, EV_BRAKING, EV_APPROACH, EV_VERTICAL, EV_TERMINAL, EV_LRF_ACQ,
 EV_LRF_REJ, EV_LRF_FAULT, EV_LRF_REACQ, EV_ALT_ZERO, EV_PROP_LOW, EV_PROP_OUT, EV_TD_DETECT,
 EV_CONTACT, EV_LRF_WIDEN, EV_TIMEOUT) = range(len(EVENTS))
MAX_EVENTS = 512  # rows of the event log; the log keeps the first MAX_EVENTS

# ---------------------------------------------------------------- trace: one row per FSW cycle
TRACE = Layout("trace")
T_T = TRACE.add("t_s", 1, "s", "time")
T_LAT = TRACE.add("lat_deg", 1, "deg", "true latitude")
T_LON = TRACE.add("lon_deg", 1, "deg", "true longitude")
T_ALT = TRACE.add("altitude_m", 1, "m", "true height above the terrain below")
T_TERRAIN = TRACE.add("terrain_m", 1, "m", "true terrain height below, above 1737.4 km")
T_ALT_EST = TRACE.add("altitude_est_m", 1, "m", "flight software's altitude estimate")
T_HEIGHT_EST = TRACE.add("height_est_m", 1, "m",
                         "flight software's height estimate above the 1737.4 km sphere")
T_LRF = TRACE.add("lrf_range_m", 1, "m", "range-finder reading (NaN without one)")
T_LRF_PRED = TRACE.add("lrf_predicted_m", 1, "m", "flight software's predicted range")
T_LRF_ACC = TRACE.add("lrf_accepted", 1, "-", "1 when the reading was used")
T_LRF_TRUE = TRACE.add("lrf_true_range_m", 1, "m", "true range along the beam")
T_VS = TRACE.add("vertical_speed_mps", 1, "m/s", "true vertical speed (up positive)")
T_HS = TRACE.add("horizontal_speed_mps", 1, "m/s", "true horizontal speed over the surface")
T_VS_EST = TRACE.add("vertical_speed_est_mps", 1, "m/s", "estimated vertical speed")
T_PROP = TRACE.add("propellant_kg", 1, "kg", "true propellant")
T_PROP_EST = TRACE.add("propellant_est_kg", 1, "kg", "estimated propellant")
T_MODE = TRACE.add("mode", 1, "-", "guidance mode code")
T_THRUST = TRACE.add("thrust_n", 1, "N", "true mean thrust over the previous cycle")
T_TILT = TRACE.add("tilt_deg", 1, "deg", "thrust axis from local vertical")
T_POS_ERR = TRACE.add("position_error_m", 1, "m", "|estimated - true position|")
T_DOWNRANGE = TRACE.add("downrange_km", 1, "km", "true distance along the approach to the site")
N_TRACE = TRACE.size

ALL_LAYOUTS = (CLOCK, WORLD, WORLD_PARAMS, MEAS, FSW, FSW_PARAMS, TRACE)
