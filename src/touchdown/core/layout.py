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
C_ALT_EVERY = CLOCK.add("altimeter_every", 1, "cycles", "cycles between altimeter readings")
C_VEL_EVERY = CLOCK.add("velocimeter_every", 1, "cycles", "cycles between velocimeter readings")
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
W_MAIN_LIT = WORLD.add("main_lit", 1, "-",
                       "engines of the main group the valves feed (0: all), as last commanded")
W_MAIN_START = WORLD.add("main_start", 2, "s, -",
                         "the main engine's starts: since when it is commanded off (-1: on), "
                         "dark (1: commanded on but unlit since a start failed)")
N_WORLD = WORLD.size

# ---------------------------------------------------------------- engine groups (both params)
ENGINE_GROUP = Layout("engine_group")  # core.engines: identical engines fired and throttled as one
EG_COUNT = ENGINE_GROUP.add("count", 1, "-", "engines in the group")
EG_THRUST = ENGINE_GROUP.add("thrust_max", 1, "N", "one engine's rated (full) thrust")
EG_THROTTLE_MIN = ENGINE_GROUP.add("throttle_min", 1, "-",
                                   "lowest throttle while on, fraction of rated thrust (1: fixed)")
EG_BAND = ENGINE_GROUP.add("forbidden_band", 2, "-",
                           "throttles (lower, upper) the flight software never commands between "
                           "(equal: none)")
EG_ISP = ENGINE_GROUP.add("isp", 2, "s", "specific impulse at full thrust and at throttle_min")
EG_FULL_BELOW = ENGINE_GROUP.add("full_until", 1, "-",
                                 "from full thrust, the command under which the throttle leaves "
                                 "full thrust for the lower range")
EG_PULSED = ENGINE_GROUP.add("pulsed", 1, "-",
                             "1: on/off pulses (duty cycle, M1's thrusters); 0: throttled")
EG_COS_CANT = ENGINE_GROUP.add("cos_cant", 1, "-",
                               "cosine of the engines' cant from body +z (canted symmetrically: "
                               "their side forces cancel, cos_cant of their thrust is along +z)")
N_ENGINE_GROUP = ENGINE_GROUP.size

# ---------------------------------------------------------------- world parameters
WORLD_PARAMS = Layout("world_params")
WP_DRY = WORLD_PARAMS.add("dry_mass", 1, "kg", "dry mass incl. payload")
WP_MAIN = WORLD_PARAMS.add("main_engine", N_ENGINE_GROUP, "-",
                           "the main engine group, true values (``ENGINE_GROUP``)")
WP_THRUSTERS = WORLD_PARAMS.add("thrusters", N_ENGINE_GROUP, "-",
                                "the pulsed descent thrusters, true values (``ENGINE_GROUP``)")
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
WP_THRUST_FAULT = WORLD_PARAMS.add("main_thrust_fault", 2, "-, s",
                                   "fault: the main engines' thrust and flow times this factor "
                                   "from a time on (1: none)")
WP_IMU_UNITS = WORLD_PARAMS.add("imu_units", 1, "-",
                                "IMUs aboard (1, or 2: a redundant unit B with the same error "
                                "model and its own noise)")
WP_IMU_FAIL = WORLD_PARAMS.add("imu_fail", 1, "s",
                               "fault: IMU unit A fails from this time on (0: never)")
WP_START_FAIL = WORLD_PARAMS.add("main_start_fails", 3, "s, s, s",
                                 "fault: the main engine's starts (on after at least the third "
                                 "word's seconds off) fail from a time (0: never) for a "
                                 "duration: it stays dark until commanded off that long")
WP_CYCLE_STEAL = WORLD_PARAMS.add("cycle_steal", 2, "-, -",
                                  "fault: a hardware interface steals the flight computer's "
                                  "time (Apollo 11's rendezvous radar): mean share, and the "
                                  "half-width of its uniform spread cycle to cycle (0: none)")
WP_PROBE = WORLD_PARAMS.add("probe_length", 1, "m",
                            "contact probes (Apollo's 1.7 m, Luna 9's boom) reach this far "
                            "below the footpads (0: none)")
WP_ALTIMETER = WORLD_PARAMS.add("altimeter", 3, "m, m, -",
                                "altimeter (radar or laser): highest altitude it reads (0: none), "
                                "noise 1-sigma, probability a reading is missing")
HAZARD_N = 21  # the hazard map's grid points a side (its centre below the lander)
WP_HAZARD = WORLD_PARAMS.add("hazard_sensor", 2, "m, m",
                             "hazard-detection lidar or camera: grid spacing (0: none), height "
                             "noise 1-sigma")
MAX_BEAMS = 4  # velocimeter beams at most (Apollo's landing radar: three velocity beams)
WP_VELOCIMETER = WORLD_PARAMS.add("velocimeter", 5, "-, m, m, m/s, -",
                                  "velocimeter (landing radar, Doppler lidar): beams, maximum "
                                  "range (0: none), range and velocity noise 1-sigma, dropout "
                                  "probability per beam")
N_BEAM_DIR = 3  # words of one beam's direction (a unit vector, body axes)
N_BEAM_WORDS = N_BEAM_DIR * MAX_BEAMS  # the beams' directions, row by row
WP_VEL_BEAMS = WORLD_PARAMS.add("velocimeter_beams", N_BEAM_WORDS, "-",
                                "each beam's direction, body axes (unit), row by row")
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
M_DV_B = MEAS.add("imu_b_dv_body", 3, "m/s", "IMU unit B: accelerometer delta-v")
M_DTH_B = MEAS.add("imu_b_dtheta_body", 3, "rad", "IMU unit B: gyro delta-angle")
M_IMU_OK = MEAS.add("imu_ok", 2, "-", "units A and B: 1 while reporting, 0 failed or absent")
M_PROBE = MEAS.add("probe_contact", 1, "-", "1 when a contact probe touched the ground")
M_VELOCIMETER = MEAS.add("velocimeter", 2 * MAX_BEAMS, "m, m/s",
                         "each beam's slant range and velocity along it (toward the ground), "
                         "NaN without a reading (``RADAR_BEAM`` rows)")
M_HAZARD_VALID = MEAS.add("hazard_map_valid", 1, "-", "1 when a hazard map arrived this cycle")
M_HAZARD = MEAS.add("hazard_map", HAZARD_N * HAZARD_N, "m",
                    "hazard map: heights of the grid below the lander, rows north to south "
                    "(``world.hazard_map``), when valid")
M_CPU_STEAL = MEAS.add("cpu_steal", 1, "-",
                       "share of the computer's time hardware interrupts took over the cycle")
M_ALTIMETER = MEAS.add("altimeter", 1, "m", "altimeter: height above the ground below, NaN when "
                       "no reading")
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
F_CMD_MAIN = FSW.add("main_throttle", 1, "-",
                      "main engine command: throttle, fraction of rated thrust (0 off, 1 full)")
F_CMD_DUTY = FSW.add("thruster_duty", 1, "-", "descent thrusters duty cycle 0..1")
F_DOI_DV = FSW.add("doi_dv", 1, "m/s", "accumulated measured delta-v of the DOI burn")
F_TGO = FSW.add("tgo", 1, "s or m/s",
                "time-to-go of the current guidance phase; in DOI the delta-v target")
F_ALT_ZERO_SEEN = FSW.add("altitude_zero_seen", 1, "-",
                          "1 once the altitude estimate reached zero (logged once)")
F_PROP_LOW_SEEN = FSW.add("propellant_low_seen", 1, "-",
                          "1 once the propellant estimate reached the reserve (logged once)")
F_RETARGET_SEEN = FSW.add("retarget_seen", 1, "-",
                          "1 once the approach's target moved (FP_RETARGET; logged once)")
F_LRF_WIDENED = FSW.add("lrf_widened", 1, "-",
                        "1 from a terrain-aware widening until the next accepted reading (which "
                        "is logged as the re-acquisition)")
F_SPARE = FSW.add("spare", 1, "-", "unused (kept so the layout after it is unchanged)")
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
F_THRUST_ACC = FSW.add("thrust_acc_mci", 3, "m/s^2",
                       "thrust acceleration the guidance last computed (inertial); commanded "
                       "again in a cycle where a polynomial phase has no solution")
F_DIVERT = FSW.add("divert", 2, "m",
                   "aim of the final phases from the site, guidance frame (downrange, "
                   "crossrange): zero until hazard avoidance moves it")
F_PROBE_SEEN = FSW.add("probe_seen", 1, "-", "1 once a contact probe touched (logged once)")
F_VELM = FSW.add("velocimeter", 2, "-, -",
                 "velocimeter: beams used this cycle, beams rejected this cycle")
F_CMD_LIT = FSW.add("main_lit", 1, "-", "engines of the main group commanded to fire (0: all)")
F_HDA = FSW.add("hazard_detection", 1, "-",
                "hazard detection: 1 while a map is requested (the sensor reads it at the next "
                "wake-up), 0 otherwise")
F_ALTM = FSW.add("altimeter", 4, "-, -, m, -",
                 "altimeter: acquired (1/0), consecutive rejections, last innovation, last "
                 "accepted (1/0)")
F_RESTART = FSW.add("restart", 4, "-, s, -, -",
                    "flight-computer restart (``fsw.restart``): phase (RESTART_*), when it "
                    "ends (s), relight attempts made, restarts so far")
F_IMU_UNIT = FSW.add("imu_unit", 1, "-", "the IMU unit navigation uses: 0 (A) or 1 (B)")
F_CMD_NEXT = FSW.add("command_next", 1, "-",
                     "the uplinked command timeline: index of the next command to execute")
F_GROUND_OFFSET = FSW.add("ground_offset", 1, "m",
                          "how far the ground the altimeter sees lies above the onboard map's "
                          "surface below (learned; the altitude estimate subtracts it)")
F_CPU_BACKLOG = FSW.add("cpu_backlog", 1, "s",
                        "the executive's work queued beyond the time the cycles gave it")
F_RELIGHT_DV = FSW.add("relight_dv", 1, "m/s",
                       "the delta-v the IMU measured in the relight attempt under way (its proof)")
F_TURN_HELD = FSW.add("turn_held", 1, "rad",
                      "how far the attitude-rate limit held the commanded thrust direction "
                      "back from guidance's this cycle")
F_THRUST_ERR = FSW.add("thrust_error", 1, "-",
                       "the main engines' thrust over their model, less 1, as learned")
F_MAIN_OWED = FSW.add("main_owed", 1, "-",
                      "a fixed-thrust main engine cycled in the vertical phases: the cycles of "
                      "full thrust asked for and not yet given (fires at half a cycle owed)")
F_DISARMED = FSW.add("engines_disarmed", 1, "-",
                     "1: the ground disarmed the descent engines (none fires); 0: armed")
F_LRF_OFF = FSW.add("lrf_disabled", 1, "-", "1: the ground disabled the range finder (its "
                    "readings are not used); 0: enabled")
F_POLICY_SET = FSW.add("policy_set", 1, "-",
                       "the range finder's policy in force (the scenario's, or the one the "
                       "ground set), plus 1 (0: the scenario's)")
F_IMU_OFF = FSW.add("imu_disabled", 1, "-",
                    "IMU units the ground disabled, a bit each (1: A, 2: B)")
F_ABORT = FSW.add("abort", 2, "-, m",
                  "1 while the ground's abort holds the lander (0: none), and the altitude it "
                  "holds")
F_CLOCK = FSW.add("clock_offset", 1, "s",
                  "the onboard clock's offset from mission time, as the ground set it "
                  "(time_sync); packets are stamped with mission time plus it")
N_TM_PERIODS = 8  # packets (the dictionary's first) whose period the ground may set
F_TM_PERIOD = FSW.add("telemetry_periods", N_TM_PERIODS, "s",
                      "each packet's period the ground set, by its place in the telemetry "
                      "dictionary (0: the dictionary's)")
F_TC = FSW.add("telecommands", 4, "-",
               "commands accepted, commands rejected, the last one's code, the last rejection "
               "(TC_REJECTIONS)")
PROFILE_STEPS = 300  # steps an uploaded thrust profile holds at most
N_PROFILE_STEP = 9  # words of one profile step: its thrust acceleration, then the planned
# position and velocity at its start
F_PROFILE = FSW.add("profile", 4, "s, s, -, m/s^2",
                    "the approach's thrust profile, solved by the onboard optimiser "
                    "(sim/optimal.py): its start time, step and steps (0: none, the approach "
                    "flies its polynomial), and the most its tracking may add (the thrust the "
                    "plan leaves in reserve, per kilogram)")
F_PROFILE_ACC = FSW.add("profile_acc", N_PROFILE_STEP * (PROFILE_STEPS + 1), "m/s^2, m, m/s",
                        "the profile per step, guidance frame (downrange, crossrange, up): "
                        "its thrust acceleration, the planned position from the site and "
                        "velocity at its start (and at the end, one step more)")
N_FSW = FSW.size

# ---------------------------------------------------------------- flight-software params
# The modes a landing may fly; a scenario's ``guidance.phases`` picks which, in its order
# (``fsw.modes``); touchdown is entered from any. Codes are kept: new modes go at the end.
(MODE_COAST_ORBIT, MODE_DOI, MODE_COAST_DESCENT, MODE_BRAKING, MODE_APPROACH,
 MODE_VERTICAL, MODE_TERMINAL, MODE_TOUCHDOWN, MODE_HOVER, MODE_FREE_FALL, MODE_RETRO_COAST,
 MODE_RETRO) = range(12)
MODES = ("orbit_coast", "doi", "descent_coast", "braking", "approach",
         "vertical_descent", "terminal_descent", "touchdown", "hover", "free_fall",
         "retro_coast", "retro")
NO_MODE = -1  # no next mode

FSW_PARAMS = Layout("fsw_params")
FP_DT = FSW_PARAMS.add("cycle", 1, "s", "flight-software cycle")
FP_COAST_DT = FSW_PARAMS.add("coast_cycle", 1, "s",
                             "cycle while coasting with the engines off (a multiple of cycle)")
FP_DRY = FSW_PARAMS.add("dry_mass", 1, "kg", "dry mass (onboard value)")
FP_MAIN = FSW_PARAMS.add("main_engine", N_ENGINE_GROUP, "-",
                         "the main engine group, nominal values (``ENGINE_GROUP``)")
FP_THRUSTERS = FSW_PARAMS.add("thrusters", N_ENGINE_GROUP, "-",
                              "the pulsed descent thrusters, nominal values (``ENGINE_GROUP``)")
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
N_TARGET = 12  # words of a guidance target state: r, v, a, j (3 each)
FP_BRAKE_TGT = FSW_PARAMS.add("braking_target", N_TARGET, "m, m/s, m/s^2, m/s^3",
                              "high gate r, v, a, j in the guidance frame")
FP_APPR_TGT = FSW_PARAMS.add("approach_target", N_TARGET, "m, m/s, m/s^2, m/s^3",
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
FP_NEXT_MODE = FSW_PARAMS.add("next_mode", len(MODES), "-",
                              "the mode that follows each mode (the scenario's phases; "
                              "NO_MODE after the last)")
FP_HOVER = FSW_PARAMS.add("hover", 2, "m, s", "hover: altitude held, duration")
FP_DIVERT_GAINS = FSW_PARAMS.add("divert_gains", 2, "1/s^2, 1/s",
                                 "hover: position and velocity gains toward the aim")
FP_MODE_ENGINES = FSW_PARAMS.add("mode_engines", len(MODES), "-",
                                 "main-group engines fired in each mode (0: all)")
FP_RETRO = FSW_PARAMS.add("retro", 2, "m, m",
                          "retro: the altimeter mark that ignites it, the altitude that ends it")
FP_CUTOFF_ALT = FSW_PARAMS.add("cutoff_altitude", 1, "m",
                               "terminal descent: engines cut at this altitude estimate (0: "
                               "none)")
FP_RATE_STEP = FSW_PARAMS.add("rate_step", 1, "m/s",
                              "vertical phases: the commanded rate in steps of this (0: "
                              "continuous), as Apollo's rate-of-descent switch gave")
FP_VELOCIMETER = FSW_PARAMS.add("velocimeter", 2, "m/s, -",
                                "velocimeter: the filter's velocity noise 1-sigma, the chi-square "
                                "gate per beam")
FP_VEL_BEAMS = FSW_PARAMS.add("velocimeter_beams", N_BEAM_WORDS, "-",
                              "each beam's direction, body axes (onboard value)")
FP_HDA = FSW_PARAMS.add("hazard_avoidance", 5, "-, cells, rad, m, m",
                        "hazard detection and avoidance at the hover: on (1/0), the "
                        "footprint's half-width, slope and roughness limits, reach")
FP_HDA_SPACING = FSW_PARAMS.add("hazard_spacing", 1, "m", "the hazard map's grid spacing")
FP_ALTM_UPDATE = FSW_PARAMS.add("altimeter_update", 1, "-",
                                "ALTIMETER_KALMAN or ALTIMETER_LUMINARY (``fsw.navigation``)")
FP_ALTM_SIGMA = FSW_PARAMS.add("altimeter_sigma", 2, "m, -",
                               "the filter's altimeter noise: sigma = a + b * estimated altitude")
FP_ALTM_GATE = FSW_PARAMS.add("altimeter_gate_nis", 1, "-",
                              "chi-square gate on the altimeter's normalised innovation")
FP_IMU_UNITS = FSW_PARAMS.add("imu_units", 1, "-", "IMUs aboard (redundancy management)")
FP_IMU_RESET_RESTARTS = FSW_PARAMS.add("imu_reset_restarts", 1, "-",
                                       "1: an imu_reset command restarts the flight computer "
                                       "(Beresheet's flaw); 0: it resets the unit alone")
FP_TURN_RATE_MAX = FSW_PARAMS.add("turn_rate_max", 1, "rad/s",
                                  "the flight software's limit on how fast its commanded thrust "
                                  "direction may turn (0: none; Vikram's 10 deg/s)")
FP_RESTART = FSW_PARAMS.add("restart", 5, "-, s, s, -, s",
                            "restart model: protected (1: guidance, navigation and the throttle "
                            "run through it, as Apollo's restart protection), reboot time, time "
                            "allowed for each relight attempt, most attempts, engines off "
                            "between attempts")
FP_MAIN_CYCLED = FSW_PARAMS.add("main_engine_cycled", 1, "-",
                                "1: a fixed-thrust main engine is fired in whole cycles in every "
                                "powered phase, its average the thrust asked for; 0: on at full "
                                "thrust where a phase flies it, off in the vertical phases")
FP_CPU = FSW_PARAMS.add("cpu", 2, "-, s",
                        "the executive: the share of each cycle its jobs need in the powered "
                        "phases (0: not modelled), and the work it may queue before it "
                        "overflows (a program alarm and a restart)")
FP_RETARGET = FSW_PARAMS.add("retarget", 3, "s, m, m",
                             "a late retarget: at this time to go of the approach (0: none) "
                             "its target moves downrange and crossrange by these")
FP_AREA = FSW_PARAMS.add("landing_area", 2, "m, m",
                         "the landing area about the site, downrange and crossrange lengths, "
                         "within which the approach may move its target (0: the site)")
FP_THRUST_LEARN = FSW_PARAMS.add("thrust_learning_time", 1, "s",
                                 "time constant of the main engines' thrust learned from the "
                                 "IMU against the command (0: the model's thrust is trusted)")
MAX_COMMANDS = 16  # commands a scenario's timeline holds at most
UPLINK = Layout("uplinked_command")  # one command of the timeline (fsw.cycle executes it)
UC_ARRIVAL = UPLINK.add("arrival", 1, "s", "time it arrives onboard: sent + one-way light time")
UC_CODE = UPLINK.add("code", 1, "-", "command code (COMMANDS); -reason (TC_REJECTIONS) for "
                     "one the receiver refused")
UC_ARG = UPLINK.add("arguments", 2, "-", "its arguments' raw values (0 where it takes none); "
                    "for a refused one its code (-1 when not read)")
MAX_ARGUMENTS = 2  # arguments a command of the flight software takes at most
N_UPLINK = UPLINK.size
FP_N_COMMANDS = FSW_PARAMS.add("n_commands", 1, "-", "commands in the uplinked timeline")
FP_COMMANDS = FSW_PARAMS.add("commands", MAX_COMMANDS * N_UPLINK, "s, -, -",
                             "the uplinked command timeline in arrival order (``UPLINK`` rows)")
FP_GROUND_TAU = FSW_PARAMS.add("ground_offset_time", 1, "s",
                               "time constant of the learned ground offset (0: none)")
N_FSW_PARAMS = FSW_PARAMS.size

# ---------------------------------------------------------------- flight-software scratch
# Each kernel that needs scratch words declares them here and is handed its own area; an area
# given to a callee is sized by the callee's layout. Scratch carries nothing from one call to
# the next: every word is written before it is read.
NAV_PREDICT = Layout("scratch.nav_predict")  # navigation.predict_range
NP_BEAM = NAV_PREDICT.add("beam_mci", 3, "-", "estimated beam direction")
NP_R_MCMF = NAV_PREDICT.add("r_mcmf", 3, "m", "estimated position, Moon-fixed")
NP_BEAM_MCMF = NAV_PREDICT.add("beam_mcmf", 3, "-", "beam direction, Moon-fixed")
NP_N_MCMF = NAV_PREDICT.add("normal_mcmf", 3, "-", "surface normal where the beam meets it")
NP_HIT = NAV_PREDICT.add("hit_mcmf", 3, "m", "where the beam meets the onboard map")

NAV_HEIGHT = Layout("scratch.nav_height")  # navigation._initialise_height
NH_UP = NAV_HEIGHT.add("up_mci", 3, "-", "local vertical")
NH_T = NAV_HEIGHT.add("t", 36, "-", "I - u u^T on the position block, 6x6")
NH_TMP = NAV_HEIGHT.add("congruence", 36, "-", "6x6 product scratch of _congruence")

NAV_UPDATE = Layout("scratch.nav_update")  # navigation.update_lrf
NU_PREDICT = NAV_UPDATE.add("predict", NAV_PREDICT.size, "-", "scratch of predict_range")
NU_NORMAL = NAV_UPDATE.add("normal_mci", 3, "-", "modelled surface normal at the beam's hit")
NU_BEAM = NAV_UPDATE.add("beam_mci", 3, "-", "estimated beam direction")
NU_H = NAV_UPDATE.add("h", 3, "-", "measurement Jacobian d(range)/d(position)")
NU_PH = NAV_UPDATE.add("ph", 6, "m", "P H^T")
NU_GAIN = NAV_UPDATE.add("gain", 6, "-, 1/s", "Kalman gain")
NU_A = NAV_UPDATE.add("a", 36, "-", "I - K H, 6x6")
NU_TMP = NAV_UPDATE.add("congruence", 36, "-", "6x6 product scratch of _congruence")
NU_HEIGHT = NAV_UPDATE.add("height", NAV_HEIGHT.size, "-", "scratch of _initialise_height")

NAV_ALTIMETER = Layout("scratch.nav_altimeter")  # navigation.update_altimeter
NA_UP = NAV_ALTIMETER.add("up_mci", 3, "-", "local vertical: the measurement Jacobian")
NA_PH = NAV_ALTIMETER.add("ph", 6, "m", "P H^T")
NA_GAIN = NAV_ALTIMETER.add("gain", 6, "-, 1/s", "Kalman gain")
NA_A = NAV_ALTIMETER.add("a", 36, "-", "I - K H, 6x6")
NA_TMP = NAV_ALTIMETER.add("congruence", 36, "-", "6x6 product scratch of _congruence")

NAV_VELOCITY = Layout("scratch.nav_velocity")  # navigation.update_velocimeter
NV_BEAM = NAV_VELOCITY.add("beam_mci", 3, "-", "estimated beam direction: the Jacobian's velocity "
                           "rows")
NV_PH = NAV_VELOCITY.add("ph", 6, "m", "P H^T")
NV_GAIN = NAV_VELOCITY.add("gain", 6, "-, 1/s", "Kalman gain")
NV_A = NAV_VELOCITY.add("a", 36, "-", "I - K H, 6x6")
NV_TMP = NAV_VELOCITY.add("congruence", 36, "-", "6x6 product scratch of _congruence")

NAV_PROPAGATE = Layout("scratch.nav_propagate")  # navigation.propagate
NG_DV = NAV_PROPAGATE.add("dv_mci", 3, "m/s", "IMU delta-v of the cycle, inertial")
NG_G0 = NAV_PROPAGATE.add("g0_mci", 3, "m/s^2", "gravity at the start of the cycle")
NG_G1 = NAV_PROPAGATE.add("g1_mci", 3, "m/s^2", "gravity at the end of the cycle")
NG_GRAVITY = NAV_PROPAGATE.add("gravity", 3, "m/s^2", "scratch of gravity_mci_turned")
NG_GRADIENT = NAV_PROPAGATE.add("gradient", 9, "1/s^2", "gravity gradient G, 3x3")
NG_X = NAV_PROPAGATE.add("x", 9, "m^2", "Phi P blocks, 3x3 each: X")
NG_Y = NAV_PROPAGATE.add("y", 9, "m^2/s", "Y")
NG_Z = NAV_PROPAGATE.add("z", 9, "m^2/s", "Z")
NG_W = NAV_PROPAGATE.add("w", 9, "m^2/s^2", "W")

NAV_SURFACE = Layout("scratch.nav_surface")  # navigation.surface_estimate
NS_R_MCMF = NAV_SURFACE.add("r_mcmf", 3, "m", "estimated position, Moon-fixed")
NS_LATLON = NAV_SURFACE.add("latlon", 3, "rad, rad, m", "latitude, longitude, radius")

GUIDANCE_FRAME = Layout("scratch.guidance_frame")  # guidance.to_guidance
GF_ENU = GUIDANCE_FRAME.add("enu", 9, "-", "site east, north, up (rows), for site_frame")
GF_R_MCMF = GUIDANCE_FRAME.add("r_mcmf", 3, "m", "estimated position, Moon-fixed")
GF_V_MCMF = GUIDANCE_FRAME.add("v_mcmf", 3, "m/s", "velocity relative to the surface")
GF_G_MCMF = GUIDANCE_FRAME.add("g_mcmf", 3, "m/s^2", "apparent gravity in the rotating frame")

GUIDANCE = Layout("scratch.guidance")  # a guidance program (guidance.fly_program)
G_R = GUIDANCE.add("r_guid", 3, "m", "position from the site, guidance frame")
G_V = GUIDANCE.add("v_guid", 3, "m/s", "velocity over the surface, guidance frame")
G_G = GUIDANCE.add("g_guid", 3, "m/s^2", "apparent gravity, guidance frame")
G_A = GUIDANCE.add("a_guid", 3, "m/s^2", "commanded total acceleration, guidance frame")
G_M = GUIDANCE.add("thrust_mcmf", 3, "m/s^2", "thrust acceleration, Moon-fixed")
G_FRAME = GUIDANCE.add("frame", GUIDANCE_FRAME.size, "-", "scratch of to_guidance")
G_TARGET = GUIDANCE.add("target", N_TARGET, "m, m/s, m/s^2, m/s^3",
                        "the approach's target moved: within the landing area, or to the aim "
                        "of a late retarget (FP_RETARGET)")

HAZARD_SELECT = Layout("scratch.hazard_select")  # hazard.select_site
HS_SLOPE = HAZARD_SELECT.add("slope", HAZARD_N * HAZARD_N, "rad", "each spot's slope")
HS_ROUGH = HAZARD_SELECT.add("roughness", HAZARD_N * HAZARD_N, "m", "each spot's roughness")
HS_GUIDANCE = HAZARD_SELECT.add("guidance", GUIDANCE.size, "-",
                                "scratch of to_guidance (the G_* words)")

FSW_CYCLE = Layout("scratch.fsw_cycle")  # cycle.fsw_cycle: one area per callee
FC_SURFACE = FSW_CYCLE.add("surface", 3, "m, m/s, m/s",
                           "out of surface_estimate: altitude, vertical, horizontal speed")
FC_PROPAGATE = FSW_CYCLE.add("propagate", NAV_PROPAGATE.size, "-", "scratch of propagate")
FC_UPDATE = FSW_CYCLE.add("update", NAV_UPDATE.size, "-", "scratch of update_lrf")
FC_ALTIMETER = FSW_CYCLE.add("altimeter", NAV_ALTIMETER.size, "-", "scratch of update_altimeter")
FC_HAZARD = FSW_CYCLE.add("hazard", HAZARD_SELECT.size, "-", "scratch of select_site")
FC_VELOCITY = FSW_CYCLE.add("velocity", NAV_VELOCITY.size, "-", "scratch of update_velocimeter")
FC_SURFACE_WORK = FSW_CYCLE.add("surface_work", NAV_SURFACE.size, "-",
                                "scratch of surface_estimate")
FC_GUIDANCE = FSW_CYCLE.add("guidance", GUIDANCE.size, "-", "scratch of the guidance program")
FC_PREV_DIR = FSW_CYCLE.add("previous_direction", 3, "-",
                            "the thrust direction commanded before this cycle (the rate limit)")
N_FSW_SCRATCH = FSW_CYCLE.size

# ---------------------------------------------------------------- codes
FLYING, LANDED, CRASHED, TIMEOUT = 0, 1, 2, 3
OUTCOMES = ("flying", "landed", "crashed", "timeout")

POLICY_AS_FLOWN_M1, POLICY_TERRAIN_AWARE = 0, 1
POLICIES = ("as_flown_m1", "terrain_aware")


# Guidance programs (``fsw.guidance.fly_program``); a mode flies one (``fsw.modes``)
(PROGRAM_RETROGRADE, PROGRAM_DOI_BURN, PROGRAM_IGNITION_SEARCH, PROGRAM_POLYNOMIAL,
 PROGRAM_POLYNOMIAL_COUNTDOWN, PROGRAM_RATE_OF_DESCENT, PROGRAM_ENGINES_OFF,
 PROGRAM_HOVER, PROGRAM_RETRO) = range(9)
PROGRAMS = ("retrograde", "doi_burn", "ignition_search", "polynomial", "polynomial_countdown",
            "rate_of_descent", "engines_off", "hover", "retro")

# Commands the flight software executes (the command dictionary describes each under its code)
(COMMAND_COMPUTER_RESET, COMMAND_IMU_RESET, COMMAND_ENGINE_ARM, COMMAND_ENGINE_DISARM,
 COMMAND_LRF_ENABLE, COMMAND_LRF_DISABLE, COMMAND_LRF_RESET, COMMAND_LRF_POLICY,
 COMMAND_MODE_OVERRIDE, COMMAND_IMU_ENABLE, COMMAND_IMU_DISABLE,
 COMMAND_TELEMETRY_RATE, COMMAND_TIME_SYNC, COMMAND_ABORT) = range(14)
COMMANDS = ("computer_reset", "imu_reset", "engine_arm", "engine_disarm", "lrf_enable",
            "lrf_disable", "lrf_reset", "lrf_policy", "mode_override", "imu_enable",
            "imu_disable", "telemetry_rate", "time_sync", "abort")
# Why a command was refused onboard: by the link (a damaged frame, out of sequence), by the
# decoder (a damaged packet, an unknown command, an argument out of range) or by the flight
# software (not possible in its state: a unit not aboard, a mode the scenario does not fly)
(TC_OK, TC_FRAME, TC_SEQUENCE, TC_PACKET, TC_UNKNOWN, TC_RANGE, TC_STATE) = range(7)
TC_REJECTIONS = ("none", "frame", "sequence", "packet", "unknown", "range", "state")

RESTART_RUNNING, RESTART_BOOTING, RESTART_SAFE, RESTART_RELIGHT = range(4)
RESTART_PHASES = ("running", "booting", "safe", "relight")

ALTIMETER_KALMAN, ALTIMETER_LUMINARY = 0, 1
ALTIMETER_UPDATES = ("kalman", "luminary")

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
    (17, "hover_start", "estimated altitude (m)"),
    (18, "hover_end", "the final aim's distance from the site (m)"),
    (19, "engine_cutoff", "estimated altitude (m)"),
    (20, "probe_contact", "a contact probe touched the ground: estimated altitude (m)"),
    (21, "site_selected", "hazard detection: distance to the chosen spot (m; NaN: no safe "
                          "spot, the aim is kept)"),
    (22, "altimeter_acquired", "the first altimeter reading used (m)"),
    (23, "altimeter_rejected", "innovation: measured - estimated altitude (m); the first of "
                               "a run of rejections"),
    (24, "retro_start", "the altimeter's mark: estimated altitude (m)"),
    (25, "computer_restart", "the flight computer restarts: restarts so far"),
    (26, "relight_attempt", "the restart logic tries to relight the engines: attempt"),
    (27, "engine_relit", "the engines burn again after a restart: attempts it took"),
    (28, "command_received", "an uplinked command arrives onboard: its code"),
    (29, "imu_switched", "redundancy management: navigation switches to IMU unit (0 A, 1 B)"),
    (30, "imu_lost", "no IMU unit reports: navigation coasts on its model (the unit in use)"),
    (31, "program_alarm", "the executive overflowed its queue (Apollo's 1202): the work "
                          "queued (s)"),
    (32, "command_executed", "the flight software carried out a command: its code"),
    (33, "command_rejected", "a command was refused onboard: its code (-1: not decoded); "
                             "why in the commanding packet"),
    (34, "retarget", "the approach's target moved late (hazard avoidance): the distance (m)"),
)
EV = {name: code for code, name, _ in EVENTS}
(EV_DOI_START, EV_DOI_END, EV_BRAKING, EV_APPROACH, EV_VERTICAL, EV_TERMINAL, EV_LRF_ACQ,
 EV_LRF_REJ, EV_LRF_FAULT, EV_LRF_REACQ, EV_ALT_ZERO, EV_PROP_LOW, EV_PROP_OUT, EV_TD_DETECT,
 EV_CONTACT, EV_LRF_WIDEN, EV_TIMEOUT, EV_HOVER_START, EV_HOVER_END, EV_ENGINE_CUTOFF,
 EV_PROBE_CONTACT, EV_SITE_SELECTED, EV_ALTM_ACQ, EV_ALTM_REJ, EV_RETRO_START, EV_RESTART,
 EV_RELIGHT_ATTEMPT, EV_RELIT, EV_COMMAND, EV_IMU_SWITCH, EV_IMU_LOST,
 EV_PROGRAM_ALARM, EV_COMMAND_DONE, EV_COMMAND_REJECTED, EV_RETARGET) = range(len(EVENTS))
MAX_EVENTS = 512  # rows of the event log; the log keeps the first MAX_EVENTS
EVENT = Layout("event")  # one row of the event log (core.eventlog.log_event)
E_T = EVENT.add("t", 1, "s", "time")
E_CODE = EVENT.add("code", 1, "-", "event code (EVENTS)")
E_VALUE = EVENT.add("value", 1, "-", "the event's value (its meaning in EVENTS)")
N_EVENT = EVENT.size

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

# ================================================================ world and Moon kernels
MAX_PULSES = 10  # longest run of pulses ``world.dynamics.burn_pulses`` takes in one step

# ---------------------------------------------------------------- terrain: the layer table
# ``meta`` of a terrain (``moon.terrain``): float64, shape (n_layers, N_TERRAIN_META), one row
# per layer in priority order; ``moon.dem_tiles`` (or a test) writes it, the kernels read it.
TERRAIN_META = Layout("terrain_meta")
TM_OFFSET = TERRAIN_META.add("offset", 1, "-", "index in elev of the layer's first value")
TM_ROWS = TERRAIN_META.add("rows", 1, "-",
                           "rows, north to south (latitude decreasing); at least 2")
TM_COLS = TERRAIN_META.add("cols", 1, "-",
                           "columns, west to east (longitude increasing); at least 2")
TM_LAT0 = TERRAIN_META.add("lat0", 1, "rad", "latitude of the first row's pixel centre")
TM_LON0 = TERRAIN_META.add("lon0", 1, "rad", "longitude of the first column's pixel centre")
TM_PIXEL = TERRAIN_META.add("pixel", 1, "rad", "pixel size, the same in latitude and longitude")
TM_WRAPS = TERRAIN_META.add("wraps", 1, "-",
                            "1 if the layer wraps in longitude (a global grid: cols * pixel = "
                            "2 pi), else 0")
TM_GRAD_MAX = TERRAIN_META.add("gradient_max", 1, "m/rad",
                               "bound on |dh/dlat| and |dh/dlon| of the layer's surface, polar "
                               "caps included (``fill_bounds``; ``ray_cast`` relies on it)")
TM_HEIGHT_MAX = TERRAIN_META.add("height_max", 1, "m",
                                 "the layer's highest value, a bound on its surface "
                                 "(``fill_bounds``)")
N_TERRAIN_META = TERRAIN_META.size

# ---------------------------------------------------------------- records inside other arrays
LATLON = Layout("latlon")  # what moon.frames.latlon_from_mcmf writes
LL_LAT = LATLON.add("lat", 1, "rad", "planetocentric latitude")
LL_LON = LATLON.add("lon", 1, "rad", "east longitude, in [0, 2 pi)")
LL_RADIUS = LATLON.add("radius", 1, "m", "distance from the Moon's centre (of the vector given)")
N_LATLON = LATLON.size

MOON_TURN = Layout("moon_turn")  # moon.frames.moon_turn's memo: WORLD's and FSW's moon_turn
MT_T = MOON_TURN.add("t", 1, "s", "the instant last asked")
MT_COS = MOON_TURN.add("cos", 1, "-", "cos(OMEGA t); a zeroed memo (cos = sin = 0) is empty")
MT_SIN = MOON_TURN.add("sin", 1, "-", "sin(OMEGA t)")
N_MOON_TURN = MOON_TURN.size

TERRAIN_BOX = Layout("terrain_box")  # WORLD's terrain_box (world.contact.contact_possible)
TB_CENTRE = TERRAIN_BOX.add("centre_mcmf", 3, "-", "the cap's centre, a unit vector, Moon-fixed")
TB_CHORD = TERRAIN_BOX.add("chord", 1, "-",
                           "the cap's chord radius on the unit sphere; 0: unset (no cap)")
TB_HEIGHT = TERRAIN_BOX.add("height_bound", 1, "m",
                            "bound on the true terrain height in the cap, above R_REF")
N_TERRAIN_BOX = TERRAIN_BOX.size

THRUST_GROUP = Layout("thrust_group")  # world.dynamics: a run of pulses of constant thrust
TG_START = THRUST_GROUP.add("start", 1, "s", "start, from the run's first pulse")
TG_DURATION = THRUST_GROUP.add("duration", 1, "s", "duration")
TG_MASS = THRUST_GROUP.add("mass", 1, "kg", "mass at its start")
TG_MDOT = THRUST_GROUP.add("mdot", 1, "kg/s", "mass flow out of the tank (engines and leak)")
TG_VE = THRUST_GROUP.add("ve", 1, "m/s",
                         "thrust / mass flow: the exhaust velocity, less with a leak (0 without "
                         "a flow)")
TG_DIR = THRUST_GROUP.add("dir_mci", 3, "-", "thrust direction, inertial")
N_THRUST_GROUP = THRUST_GROUP.size


# ---------------------------------------------------------------- world scratch
# As the flight software's: each kernel that needs scratch words declares them here and is
# handed its own area; an area given to a callee is sized by the callee's layout (N_SCRATCH_*);
# scratch carries nothing from one call to the next: every word is written before it is read.
# The loop (``sim.step``) hands one area of N_WORLD_SCRATCH words to each world kernel in turn.
SCRATCH_GRAVITY = Layout("scratch.gravity")  # moon.gravity.gravity_mci_turned (its work3)
GR_MCMF = SCRATCH_GRAVITY.add("a_mcmf", 3, "m/s^2", "gravity, Moon-fixed")
N_SCRATCH_GRAVITY = SCRATCH_GRAVITY.size

SCRATCH_RK4 = Layout("scratch.rk4")  # world.dynamics.coast_or_burn
RK_K1R = SCRATCH_RK4.add("k1r", 3, "m/s", "RK4 stage 1: velocity")
RK_K1V = SCRATCH_RK4.add("k1v", 3, "m/s^2", "RK4 stage 1: acceleration")
RK_K2R = SCRATCH_RK4.add("k2r", 3, "m/s", "RK4 stage 2: velocity")
RK_K2V = SCRATCH_RK4.add("k2v", 3, "m/s^2", "RK4 stage 2: acceleration")
RK_K3R = SCRATCH_RK4.add("k3r", 3, "m/s", "RK4 stage 3: velocity")
RK_K3V = SCRATCH_RK4.add("k3v", 3, "m/s^2", "RK4 stage 3: acceleration")
RK_K4R = SCRATCH_RK4.add("k4r", 3, "m/s", "RK4 stage 4: velocity")
RK_K4V = SCRATCH_RK4.add("k4v", 3, "m/s^2", "RK4 stage 4: acceleration")
RK_R = SCRATCH_RK4.add("r_stage", 3, "m", "position at which the next stage is evaluated")
RK_GRAVITY = SCRATCH_RK4.add("gravity", N_SCRATCH_GRAVITY, "-",
                             "scratch of gravity_mci_turned (through _accel)")
N_SCRATCH_RK4 = SCRATCH_RK4.size

SCRATCH_TURN_AXIS = Layout("scratch.turn_axis")  # world.dynamics._turn_axis
TA_Z = SCRATCH_TURN_AXIS.add("z_mci", 3, "-", "body +z, inertial")
N_SCRATCH_TURN_AXIS = SCRATCH_TURN_AXIS.size

SCRATCH_TURN = Layout("scratch.turn")  # world.dynamics._apply_turn
TN_ROT = SCRATCH_TURN.add("rot_mci", 3, "rad", "the turn's rotation vector, inertial")
TN_ROT_BODY = SCRATCH_TURN.add("rot_body", 3, "rad", "the turn in body axes")
N_SCRATCH_TURN = SCRATCH_TURN.size

SCRATCH_SLEW = Layout("scratch.slew")  # world.dynamics.slew
SL_TURN_AXIS = SCRATCH_SLEW.add("turn_axis", N_SCRATCH_TURN_AXIS, "-", "scratch of _turn_axis")
SL_TURN = SCRATCH_SLEW.add("turn", N_SCRATCH_TURN, "-", "scratch of _apply_turn")
N_SCRATCH_SLEW = SCRATCH_SLEW.size

SCRATCH_SUBSTEP = Layout("scratch.substep")  # world.dynamics.substep
SS_SLEW = SCRATCH_SUBSTEP.add("slew", N_SCRATCH_SLEW, "-", "scratch of slew")
SS_THRUST_DIR = SCRATCH_SUBSTEP.add("thrust_dir_mci", 3, "-",
                                    "body +z after the turn: the thrust direction")
SS_RK4 = SCRATCH_SUBSTEP.add("rk4", N_SCRATCH_RK4, "-", "scratch of coast_or_burn")
N_SCRATCH_SUBSTEP = SCRATCH_SUBSTEP.size

SCRATCH_BURN = Layout("scratch.burn_pulses")  # world.dynamics.burn_pulses, in closed form
BP_TURN_AXIS = SCRATCH_BURN.add("turn_axis", N_SCRATCH_TURN_AXIS, "-", "scratch of _turn_axis")
BP_Z0 = SCRATCH_BURN.add("z0_mci", 3, "-", "body +z before the turn")
BP_GROUPS = SCRATCH_BURN.add("groups", MAX_PULSES * N_THRUST_GROUP, "s, s, kg, kg/s, m/s, -",
                             "the thrust groups, a THRUST_GROUP each, at most one a pulse: n "
                             "pulses use the first n")
BP_D_HALF = SCRATCH_BURN.add("d_half", 3, "m", "thrust-only displacement at half the step")
BP_DV_HALF = SCRATCH_BURN.add("dv_half", 3, "m/s", "thrust-only velocity at half the step")
BP_D_END = SCRATCH_BURN.add("d_end", 3, "m", "thrust-only displacement at the step's end")
BP_DV_END = SCRATCH_BURN.add("dv_end", 3, "m/s", "thrust-only velocity at the step's end")
BP_A1 = SCRATCH_BURN.add("a1", 3, "m/s^2", "gravity, RK4 stage 1 (start)")
BP_A2 = SCRATCH_BURN.add("a2", 3, "m/s^2", "gravity, RK4 stage 2 (middle)")
BP_A3 = SCRATCH_BURN.add("a3", 3, "m/s^2", "gravity, RK4 stage 3 (middle)")
BP_A4 = SCRATCH_BURN.add("a4", 3, "m/s^2", "gravity, RK4 stage 4 (end)")
BP_R = SCRATCH_BURN.add("r_stage", 3, "m", "position at which gravity is evaluated")
BP_GRAVITY = SCRATCH_BURN.add("gravity", N_SCRATCH_GRAVITY, "-", "scratch of gravity_mci_turned")
BP_TURN = SCRATCH_BURN.add("turn", N_SCRATCH_TURN, "-", "scratch of _apply_turn")
N_SCRATCH_BURN = SCRATCH_BURN.size
# When the propellant does not last the pulses, burn_pulses takes them one substep at a time
# and hands its whole area to substep instead of using the fields above: it needs the larger.
N_BURN_WORK = max(N_SCRATCH_BURN, N_SCRATCH_SUBSTEP)

SCRATCH_CONTACT = Layout("scratch.contact_possible")  # world.contact.contact_possible
CP_UP = SCRATCH_CONTACT.add("up_mcmf", 3, "-", "unit vector toward the lander, Moon-fixed")
CP_LATLON = SCRATCH_CONTACT.add("latlon", N_LATLON, "rad, rad, -",
                                "its latitude, longitude and radius (1)")
N_SCRATCH_CONTACT = SCRATCH_CONTACT.size

SCRATCH_ALTITUDE = Layout("scratch.update_altitude")  # world.contact.update_altitude
UA_R = SCRATCH_ALTITUDE.add("r_mcmf", 3, "m", "true position, Moon-fixed")
UA_V = SCRATCH_ALTITUDE.add("v_mcmf", 3, "m/s", "true velocity over the surface, Moon-fixed")
UA_LATLON = SCRATCH_ALTITUDE.add("latlon", N_LATLON, "rad, rad, m", "latitude, longitude, radius")
N_SCRATCH_ALTITUDE = SCRATCH_ALTITUDE.size

SCRATCH_CLASSIFY = Layout("scratch.classify_contact")  # world.contact.classify_contact
CC_R = SCRATCH_CLASSIFY.add("r_mcmf", 3, "m", "true position, Moon-fixed")
CC_V = SCRATCH_CLASSIFY.add("v_mcmf", 3, "m/s", "true velocity over the surface, Moon-fixed")
CC_LATLON = SCRATCH_CLASSIFY.add("latlon", N_LATLON, "rad, rad, m", "latitude, longitude, radius")
CC_NORMAL = SCRATCH_CLASSIFY.add("normal_mcmf", 3, "-", "terrain normal below, Moon-fixed")
CC_Z_MCI = SCRATCH_CLASSIFY.add("z_mci", 3, "-", "body +z, inertial")
CC_Z_MCMF = SCRATCH_CLASSIFY.add("z_mcmf", 3, "-", "body +z, Moon-fixed")
N_SCRATCH_CLASSIFY = SCRATCH_CLASSIFY.size

SCRATCH_READ_LRF = Layout("scratch.read_lrf")  # world.sensors.read_lrf
RL_BEAM = SCRATCH_READ_LRF.add("beam_mci", 3, "-", "true beam direction, inertial")
RL_BEAM_MCMF = SCRATCH_READ_LRF.add("beam_mcmf", 3, "-", "true beam direction, Moon-fixed")
RL_R = SCRATCH_READ_LRF.add("r_mcmf", 3, "m", "true position, Moon-fixed")
N_SCRATCH_READ_LRF = SCRATCH_READ_LRF.size

SCRATCH_RADAR = Layout("scratch.radar")  # world.radar.read_radar_beams
RD_BEAM = SCRATCH_RADAR.add("beam_mci", 3, "-", "true beam direction, inertial")
RD_BEAM_MCMF = SCRATCH_RADAR.add("beam_mcmf", 3, "-", "true beam direction, Moon-fixed")
RD_R = SCRATCH_RADAR.add("r_mcmf", 3, "m", "true position, Moon-fixed")
RD_V = SCRATCH_RADAR.add("v_mcmf", 3, "m/s", "true velocity over the surface, Moon-fixed")
N_SCRATCH_RADAR = SCRATCH_RADAR.size

RADAR_BEAM = Layout("radar_beam")  # one beam's reading (world.radar.read_radar_beams)
RB_RANGE = RADAR_BEAM.add("range", 1, "m", "slant range to the terrain along the beam (NaN: none)")
RB_VELOCITY = RADAR_BEAM.add("velocity", 1, "m/s",
                             "velocity over the surface along the beam, positive toward the "
                             "ground (NaN: none)")
N_RADAR_BEAM = RADAR_BEAM.size

SCRATCH_HAZARD_MAP = Layout("scratch.hazard_map")  # world.hazard_map.read_hazard_map
HM_R = SCRATCH_HAZARD_MAP.add("r_mcmf", 3, "m", "true position, Moon-fixed")
HM_LATLON = SCRATCH_HAZARD_MAP.add("latlon", N_LATLON, "rad, rad, m",
                                   "latitude, longitude, radius of the point below")
N_SCRATCH_HAZARD_MAP = SCRATCH_HAZARD_MAP.size

SCRATCH_ALTIMETER = Layout("scratch.altimeter")  # world.sensor_template.read_altimeter
AM_R = SCRATCH_ALTIMETER.add("r_mcmf", 3, "m", "true position, Moon-fixed")
AM_LATLON = SCRATCH_ALTIMETER.add("latlon", N_LATLON, "rad, rad, m",
                                  "latitude, longitude, radius")
N_SCRATCH_ALTIMETER = SCRATCH_ALTIMETER.size

SCRATCH_RECORD = Layout("scratch.record")  # sim.step.record (a trace row)
RC_ALTITUDE = SCRATCH_RECORD.add("altitude", N_SCRATCH_ALTITUDE, "-",
                                 "scratch of update_altitude")
RC_R = SCRATCH_RECORD.add("r_mcmf", 3, "m", "true position, Moon-fixed")
RC_V = SCRATCH_RECORD.add("v_mcmf", 3, "m/s", "true velocity over the surface, Moon-fixed")
RC_LATLON = SCRATCH_RECORD.add("latlon", N_LATLON, "rad, rad, m", "latitude, longitude, radius")
RC_UP = SCRATCH_RECORD.add("up_mcmf", 3, "-", "local vertical, Moon-fixed")
RC_Z_MCI = SCRATCH_RECORD.add("z_mci", 3, "-", "body +z, inertial")
RC_UP_MCI = SCRATCH_RECORD.add("up_mci", 3, "-", "local vertical, inertial")
N_SCRATCH_RECORD = SCRATCH_RECORD.size

# the one area the loop hands to each world kernel in turn (and to record)
N_WORLD_SCRATCH = max(N_BURN_WORK, N_SCRATCH_CONTACT, N_SCRATCH_ALTITUDE,
                      N_SCRATCH_CLASSIFY, N_SCRATCH_READ_LRF, N_SCRATCH_ALTIMETER,
                      N_SCRATCH_RADAR, N_SCRATCH_HAZARD_MAP, N_SCRATCH_RECORD)

# the camera's renderer (world.render: a shell's call, never in the flight's loop)
SCRATCH_RENDER = Layout("scratch.render")
RW_DIR = SCRATCH_RENDER.add("dir_mcmf", 3, "-", "the pixel's ray, Moon-fixed")
RW_HIT = SCRATCH_RENDER.add("hit_mcmf", 3, "m", "where it meets the terrain (or a point of it)")
RW_UP = SCRATCH_RENDER.add("shadow_origin", 3, "m", "a shadow ray's start, lifted off the ground")
RW_NORMAL = SCRATCH_RENDER.add("normal_mcmf", 3, "-", "the terrain's normal there")
N_SCRATCH_RENDER = SCRATCH_RENDER.size
RENDER_LIGHT = Layout("render.light")  # an image's light (the Sun, the shadow grid's frame)
# and what bounds its view
SG_SUN = RENDER_LIGHT.add("sun_mcmf", 3, "-", "the Sun's direction, Moon-fixed")
SG_E1 = RENDER_LIGHT.add("e1_mcmf", 3, "-", "a unit vector across the Sun's axis")
SG_E2 = RENDER_LIGHT.add("e2_mcmf", 3, "-", "the Sun's axis times e1")
SG_THETA0 = RENDER_LIGHT.add("theta0", 1, "rad", "the grid's first sample from the sub-solar "
                             "point")
SG_DTHETA = RENDER_LIGHT.add("dtheta", 1, "rad", "its sample step (0: no grid)")
SG_PHI0 = RENDER_LIGHT.add("phi0", 1, "rad", "its first row about the Sun's axis")
SG_DPHI = RENDER_LIGHT.add("dphi", 1, "rad", "its row step")
SG_NORMAL_M = RENDER_LIGHT.add("normal_half_width", 1, "m", "the normals' central differences "
                               "reach this far (0: the bilinear surface's own normal)")
SG_VIEW_TOP = RENDER_LIGHT.add("view_top", 1, "m", "radius no terrain under the view's box "
                               "rises above (0: unknown)")
SG_VIEW_BOX = RENDER_LIGHT.add("view_box", 4, "rad", "the view's box: lat_lo, lat_hi, lon_lo, "
                               "lon width")
N_RENDER_LIGHT = RENDER_LIGHT.size
RENDER_NODE = Layout("render.node")  # a block corner of the renderer
NODE_S = RENDER_NODE.add("distance", 1, "m", "along the ray to the terrain (NaN: sky)")
NODE_P = RENDER_NODE.add("hit_mcmf", 3, "m", "the point it meets")
NODE_LIT = RENDER_NODE.add("lit", 1, "-", "1: the Sun reaches it; 0: shadow")
N_RENDER_NODE = RENDER_NODE.size

STEP = Layout("scratch.step")  # sim.step.advance: the world's area and the flight software's
SP_WORLD = STEP.add("world", N_WORLD_SCRATCH, "-", "scratch of the world kernels and record")
SP_FSW = STEP.add("fsw", N_FSW_SCRATCH, "-", "scratch of fsw_cycle")
N_STEP_SCRATCH = STEP.size

ALL_LAYOUTS = (CLOCK, WORLD, WORLD_PARAMS, MEAS, FSW, FSW_PARAMS, EVENT, TRACE, NAV_PREDICT,
               NAV_HEIGHT, NAV_UPDATE, NAV_ALTIMETER, NAV_VELOCITY, NAV_PROPAGATE, NAV_SURFACE,
               GUIDANCE_FRAME, GUIDANCE, HAZARD_SELECT, FSW_CYCLE, TERRAIN_META, LATLON, MOON_TURN,
               TERRAIN_BOX, THRUST_GROUP, UPLINK,
               ENGINE_GROUP, SCRATCH_GRAVITY, SCRATCH_RK4, SCRATCH_TURN_AXIS, SCRATCH_TURN,
               SCRATCH_SLEW, SCRATCH_SUBSTEP, SCRATCH_BURN, SCRATCH_CONTACT, SCRATCH_ALTITUDE,
               SCRATCH_CLASSIFY, SCRATCH_READ_LRF, SCRATCH_ALTIMETER, SCRATCH_RADAR, RADAR_BEAM,
               SCRATCH_HAZARD_MAP, SCRATCH_RECORD, SCRATCH_RENDER, RENDER_LIGHT, RENDER_NODE,
               STEP)
