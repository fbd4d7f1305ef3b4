"""Flight-computer restarts (``fsw.restart``) on crafted inputs.

What validates what:

- protected (Apollo's restart protection): the engines keep their commands through the reboot,
  guidance skips the cycles of the reboot and flies again when it ends, the estimate is left as
  it was, each restart is logged with the count so far;
- unprotected: the engines stop at once; after the reboot the restart logic tries a relight,
  guidance flying for the attempt's time; an IMU showing at least half the acceleration asked
  for proves it (``engine_relit``, back to running); an IMU showing nothing stops the engines
  for a cycle (the next attempt is a new ignition) and starts the next attempt; after the
  last attempt the engines stay off for good.
"""

import numpy as np
import pytest

from touchdown.core import layout as st
from touchdown.fsw.restart import computer_restart, restart_gate

DT = 0.1


def setup(protected, reboot=2.0, attempt=3.0, attempts=3, gap=0.0):
    fsw, fp = np.zeros(st.N_FSW), np.zeros(st.N_FSW_PARAMS)
    fp[st.FP_RESTART:st.FP_RESTART + 5] = (1.0 if protected else 0.0, reboot, attempt, attempts,
                                           gap)
    fsw[st.F_CMD_MAIN], fsw[st.F_CMD_DUTY] = 0.7, 0.3
    fsw[st.F_THRUST_ACC:st.F_THRUST_ACC + 3] = (0.0, 0.0, 2.0)  # guidance asks 2 m/s^2
    fsw[st.F_X:st.F_X + 6] = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0)
    return fsw, fp


def log():
    return np.zeros((st.MAX_EVENTS, st.N_EVENT)), np.zeros(1, np.int64)


def names(events, n):
    return [(round(float(t), 3), st.EVENTS[int(c)][1], float(v)) for t, c, v in events[:n[0]]]


def imu(accel):
    meas = np.zeros(st.N_MEAS)
    meas[st.M_DV + 2] = accel * DT
    return meas


def run(fsw, fp, t0, t1, accel, events, n):
    """The gate's answer each cycle from t0 to t1 (s), the IMU showing ``accel``."""
    out = []
    for k in range(round((t1 - t0) / DT)):
        out.append(restart_gate(fsw, fp, round(t0 + k * DT, 6), imu(accel), events, n))
    return out


def test_a_protected_restart_keeps_the_engines_and_skips_only_the_reboot():
    fsw, fp = setup(protected=True, reboot=0.5)
    events, n = log()
    computer_restart(fsw, fp, 10.0, events, n)
    assert (fsw[st.F_CMD_MAIN], fsw[st.F_CMD_DUTY]) == (0.7, 0.3)
    gate = run(fsw, fp, 10.1, 11.0, 2.0, events, n)
    assert gate == [False] * 4 + [True] * 5  # 10.1-10.4 rebooting, from 10.5 on flying
    assert fsw[st.F_RESTART] == st.RESTART_RUNNING
    assert list(fsw[st.F_X:st.F_X + 6]) == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    computer_restart(fsw, fp, 20.0, events, n)
    assert names(events, n) == [(10.0, "computer_restart", 1.0), (20.0, "computer_restart", 2.0)]


def test_an_unprotected_restart_stops_the_engines_and_relights_when_the_imu_proves_it():
    fsw, fp = setup(protected=False)
    events, n = log()
    computer_restart(fsw, fp, 10.0, events, n)
    assert (fsw[st.F_CMD_MAIN], fsw[st.F_CMD_DUTY]) == (0.0, 0.0)
    assert run(fsw, fp, 10.1, 12.0, 0.0, events, n) == [False] * 19  # the reboot
    # 12.0: the first attempt; guidance flies it for 3 s; the engines burn (1.5 of 2 m/s^2)
    assert run(fsw, fp, 12.0, 15.0, 1.5, events, n) == [True] * 30
    assert restart_gate(fsw, fp, 15.0, imu(1.5), events, n)
    assert fsw[st.F_RESTART] == st.RESTART_RUNNING
    assert names(events, n) == [(10.0, "computer_restart", 1.0), (12.0, "relight_attempt", 1.0),
                                (15.0, "engine_relit", 1.0)]


@pytest.mark.parametrize("attempts", [1, 3])
def test_failed_relights_retry_then_leave_the_engines_off(attempts):
    fsw, fp = setup(protected=False, attempts=attempts)
    events, n = log()
    computer_restart(fsw, fp, 0.0, events, n)
    gate = run(fsw, fp, 0.1, 2.0 + 3.1 * attempts + 5.0, 0.3, events, n)  # too little thrust
    tried = [e for e in names(events, n) if e[1] == "relight_attempt"]
    # each failed attempt ends with the engines off for a cycle: the next is a new ignition
    assert [t for t, _, _ in tried] == pytest.approx([2.0 + 3.1 * k for k in range(attempts)])
    assert not any(e[1] == "engine_relit" for e in names(events, n))
    ends = [round((2.0 + 3.1 * k + 3.0 - 0.1) / DT) for k in range(attempts)]  # gate indices
    assert not any(gate[ends[-1]:]) and all(gate[round(1.9 / DT):ends[0]])
    assert all(not gate[k] and gate[k + 1] for k in ends[:-1])
    assert (fsw[st.F_CMD_MAIN], fsw[st.F_CMD_DUTY]) == (0.0, 0.0)


def test_the_relight_proof_is_the_mean_over_the_attempt_and_attempts_wait_the_gap():
    """An engine fired in whole cycles (on in one cycle of two at 2 m/s^2: a mean of 1 m/s^2,
    half the 2 asked for) proves its relight over the attempt, whatever the last cycle showed;
    one that gave too little over the attempt waits the gap (the engines off) before the
    next attempt."""
    fsw, fp = setup(protected=False, gap=1.0)
    events, n = log()
    computer_restart(fsw, fp, 0.0, events, n)
    run(fsw, fp, 0.1, 2.0, 0.0, events, n)  # the reboot
    for k in range(31):  # 2.0-5.0: the attempt, the IMU seeing 2 m/s^2 every other cycle
        restart_gate(fsw, fp, round(2.0 + k * DT, 6), imu(2.0 if k % 2 else 0.0), events, n)
    assert ("engine_relit" in [e[1] for e in names(events, n)]) and fsw[st.F_RESTART] == (
        st.RESTART_RUNNING)
    fsw, fp = setup(protected=False, gap=1.0)
    events, n = log()
    computer_restart(fsw, fp, 0.0, events, n)
    gate = run(fsw, fp, 0.1, 7.0, 0.5, events, n)  # a quarter of what was asked: not lit
    tried = [t for t, name, _ in names(events, n) if name == "relight_attempt"]
    assert tried == pytest.approx([2.0, 6.0])  # 2-5 the attempt, 5-6 the gap
    assert not any(gate[round((5.0 - 0.1) / DT):round((6.0 - 0.1) / DT)])
    assert (fsw[st.F_CMD_MAIN], fsw[st.F_CMD_DUTY]) != (0.7, 0.3)


def test_the_executive_queues_what_does_not_fit_and_overflows_into_a_protected_restart():
    """``executive``: in a powered phase work beyond the cycle (load + stolen share - 1) queues;
    past the queue's limit a program alarm and a restart (protected: the engines keep their
    commands); the restart flushes the queue; coasting, the queue drains; without a load
    nothing is kept."""
    from touchdown.fsw.restart import executive

    fsw, fp = setup(protected=True, reboot=0.2)
    fp[st.FP_CPU:st.FP_CPU + 2] = (0.9, 1.0)
    events, n = log()
    meas = imu(0.0)
    meas[st.M_CPU_STEAL] = 0.15  # 5 % over: 1 s of work queued after 20 s
    t = 0.0
    for _ in range(199):
        t = round(t + DT, 6)
        executive(fsw, fp, meas, t, DT, st.MODE_BRAKING, events, n)
    assert fsw[st.F_CPU_BACKLOG] == pytest.approx(0.995) and n[0] == 0
    executive(fsw, fp, meas, 20.0, DT, st.MODE_BRAKING, events, n)
    if n[0] == 0:  # 1.0 s queued, to rounding: the next cycle overflows
        executive(fsw, fp, meas, 20.1, DT, st.MODE_BRAKING, events, n)
    assert [e[1] for e in names(events, n)] == ["program_alarm", "computer_restart"]
    assert fsw[st.F_CPU_BACKLOG] == 0.0
    assert (fsw[st.F_CMD_MAIN], fsw[st.F_CMD_DUTY]) == (0.7, 0.3)  # protected
    fsw[st.F_CPU_BACKLOG] = 0.5
    executive(fsw, fp, meas, 30.0, 1.0, st.MODE_COAST_DESCENT, events, n)
    assert fsw[st.F_CPU_BACKLOG] == 0.0  # coasting: only the 15 % stolen, the queue drains
    fp[st.FP_CPU] = 0.0
    fsw[st.F_CPU_BACKLOG] = 0.0
    executive(fsw, fp, meas, 31.0, 100.0, st.MODE_BRAKING, events, n)
    assert fsw[st.F_CPU_BACKLOG] == 0.0 and n[0] == 2
