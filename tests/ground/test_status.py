"""Expiry, link status, loss of signal, last known state and the outcome estimate."""

import math

import pytest

from touchdown.ground.status import (
    CAVEAT,
    FAILED,
    OK,
    UNAVAIL,
    LastKnownState,
    LinkMonitor,
    free_fall,
    last_known_state,
    outcome_estimate,
)
from touchdown.moon.constants import SURFACE_GRAVITY


def test_parameters_go_stale_after_their_expiry_and_los_follows(packet, ingest, dictionary,
                                                                encoder):
    link = ingest.link
    assert link.los_timeout_s == pytest.approx(19.0)  # health: 1.9 x 10 s
    assert link.status(0.0) == UNAVAIL
    t = 100.0
    for name in ("nav", "lrf", "gnc", "prop", "health", "commanding"):
        ingest.packet(packet(dictionary, encoder, name, t - 3.0), t)
    assert link.stale_packets(t) == [] and link.status(t) == OK
    assert link.stale_packets(t + 0.9) == []  # lrf: 0.95 s
    assert link.stale_packets(t + 1.0) == ["lrf"]
    assert link.is_stale("nav.altitude_m", t + 1.91) and not link.is_stale("nav.altitude_m",
                                                                             t + 1.89)
    assert link.stale_packets(t + 9.6) == ["nav", "lrf", "gnc", "prop", "commanding"]
    assert not link.is_stale("event.code", t + 1e6)  # event packets never expire
    assert link.status(t + 19.0) == OK  # exactly the timeout: not yet
    assert link.update(t + 19.0) is None
    assert link.status(t + 19.01) == FAILED
    los = link.los
    assert (los.t_los, los.t_declared, los.t_onboard_last) == (t, t + 19.0, t - 3.0)
    assert ingest.archive.link_log() == []  # derived from receive times, never stored
    ingest.packet(packet(dictionary, encoder, "nav", t + 40.0), t + 43.0)  # signal back
    assert link.status(t + 43.0) == OK and link.los is None and len(link.history) == 1
    ingest.archive.flush()
    again = LinkMonitor(dictionary, ingest.archive)  # a reopened archive finds it again
    assert again.history == [los] and again.update(t + 43.5) is None


def test_a_configured_los_timeout_is_used(ingest, dictionary, encoder):
    from touchdown.ground.status import LinkMonitor

    link = LinkMonitor(dictionary, los_timeout_s=3.0)
    link.received("nav", 1.0, 10.0)
    assert link.status(13.0) == OK and link.status(13.5) == FAILED


def test_free_fall_matches_a_hand_calculation():
    # h = 1000 m, v = -10 m/s, g = 1.62: 1000 - 10 t - 0.81 t^2 = 0
    # t = (-10 + sqrt(100 + 3240)) / 1.62 = (-10 + 57.7927) / 1.62 = 29.5017 s
    t, vz = free_fall(1000.0, -10.0, 1.62)
    assert t == pytest.approx(29.5017, abs=1e-3)
    assert vz == pytest.approx(-57.7927, abs=1e-3)  # -sqrt(v^2 + 2 g h)
    assert free_fall(-5.0, -3.0) == (0.0, -3.0)
    t_up, vz_up = free_fall(0.1, 10.0, 1.62)  # thrown up: rises first, lands later
    assert t_up > 2 * 10.0 / 1.62 and vz_up < -10.0


def test_outcome_estimate_after_los_from_the_last_known_state(packet, ingest, dictionary, encoder):
    t = 500.0
    ingest.packet(packet(dictionary, encoder, "gnc", 480.0, mode=6), t - 2.0)
    ingest.packet(packet(dictionary, encoder, "prop", 479.0, propellant_kg=0.2), t - 1.0)
    ingest.packet(packet(dictionary, encoder, "nav", 481.0, altitude_m=5000.0,
                         vertical_speed_mps=-2.0, horizontal_speed_mps=3.0), t)
    los = ingest.link.update(t + 30.0)
    assert los is not None
    state = last_known_state(dictionary, ingest.archive, los)
    assert state.states["gnc.mode"] == "terminal_descent"
    est = outcome_estimate(state)
    g = SURFACE_GRAVITY
    t_hand = (-2.0 + math.sqrt(4.0 + 2 * g * 5000.0)) / g  # 76.6 s for g = 1.624
    assert est.time_to_impact_s == pytest.approx(t_hand, rel=1e-9)
    assert est.t_impact == pytest.approx(481.0 + t_hand)
    assert est.impact_vertical_speed_mps == pytest.approx(-math.sqrt(4.0 + 2 * g * 5000.0))
    assert est.impact_speed_mps == pytest.approx(math.sqrt(4.0 + 2 * g * 5000.0 + 9.0))
    assert est.impact_speed_mps == pytest.approx(127.47, abs=0.05)
    assert est.powered is False and est.mode == "terminal_descent" and est.los == los
    assert est.basis == CAVEAT and "own estimates" in CAVEAT


def test_outcome_estimate_without_state_or_with_propellant_left_says_so():
    est = outcome_estimate(LastKnownState({}, {}, None))
    assert est.time_to_impact_s is None
    assert any("no altitude" in n for n in est.notes)
    assert any("no propellant" in n for n in est.notes)
    est = outcome_estimate(LastKnownState({"nav.altitude_m": (1.0, 0.0),
                                           "nav.vertical_speed_mps": (1.0, -1.0),
                                           "prop.propellant_kg": (1.0, 50.0)}, {}, None))
    assert est.powered is True and est.time_to_impact_s == 0.0
    assert any("worst case" in n for n in est.notes)
    assert any("believed it was on the surface" in n for n in est.notes)
