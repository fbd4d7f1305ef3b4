"""Every benchmark runs, at a tiny size: the scripts work and say what they measure.

Speed is measured in ``benchmarks/``, never here: these only check that each benchmark runs to
the end against a real `touchdown ground` server and that its figures add up.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def run_bench(script: str, *args: str) -> tuple[str, dict]:
    """Run a benchmark script; its output and its closing JSON line."""
    r = subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout, json.loads(r.stdout.strip().splitlines()[-1])


def test_bench_ground_counts_every_packet_and_delivers_every_value():
    out, r = run_bench("bench_ground.py", "--packets", "300", "--baseline", "none")
    assert r["packets"] == 300 and "ratio" not in r and "baseline" not in r
    new = r["new"]
    assert new["packets_per_s"] > 0 and new["subscriber_values"] == [r["parameters"]]
    assert "packets/s" in out


def test_bench_junk_archives_every_good_packet_and_little_junk():
    out, r = run_bench("bench_junk.py", "--megabytes", "0.3")
    assert set(r["streams"]) == {"random octets", "repeated sync markers"}
    for s in r["streams"].values():
        assert s["all_packets"] and s["packets_archived"] == r["packets"] > 0
        assert s["discarded_exact"] and s["sync_octets_discarded"] == s["junk_octets"]
        assert s["growth_final_bytes"] < 0.3 * r["goal_bytes"]  # the goal, scaled down
        assert 0 < s["junk_octets_kept"] <= 16 * 256
        assert s["garbage_alarm"]["trigger_severity"] == "warning"
        assert s["met"]
    assert "NOT MET" not in out


def test_bench_library_measures_each_lander_beside_m1():
    out, r = run_bench("bench_library.py", "--runs", "4", "--threads", "1", "--compiled", "2",
                       "--landers", "change-3")
    assert list(r["landers"]) == ["hakuto-r-m1", "change-3"]
    for f in r["landers"].values():
        assert f["samples"] == 4 and f["powered_s"] > 0 and f["samples_per_s"] > 0
        assert f["us_per_powered_s"] == pytest.approx(1e6 * f["wall_s"] / 4 / f["powered_s"])
        assert f["compiled_ms_per_sample"] > 0 and f["compiled_us_per_powered_s"] > 0
    assert r["landers"]["hakuto-r-m1"]["ratio_to_m1"] == 1.0
    assert r["landers"]["hakuto-r-m1"]["compiled_ratio_to_m1"] == 1.0
    assert "vs M1" in out


def test_bench_camera_renders_each_view_as_the_plain_method_does():
    out, r = run_bench("bench_camera.py", "--size", "48", "--repeat", "1")
    assert r["size"] == 48 and len(r["views"]) == 4
    for v in r["views"].values():
        assert v["wall_s"] > 0 and v["plain_wall_s"] > 0 and v["agree_with_plain"] > 0.95
        assert v["ratio"] == pytest.approx(v["plain_wall_s"] / v["wall_s"])
    assert "rays/pixel" in out and "goal:" in out


def test_bench_startup_times_whole_fly_processes():
    out, r = run_bench("bench_startup.py", "--repeat", "2", "--baseline", "none")
    assert r["scenario"] == "hakuto-r-m1" and r["repeat"] == 2 and "ratio" not in r
    new = r["new"]
    assert len(new["wall_s"]) == 2 and min(new["wall_s"]) <= new["median_s"] <= max(new["wall_s"])
    assert len(new["cpu_s"]) == 2 and new["cpu_median_s"] > 0
    assert new["first_s"] > 0
    assert "whole process" in out and "goal <= 0.7 s" in out


def test_bench_startup_times_each_kernel_compiled_and_without_its_callees():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_startup", BENCH / "bench_startup.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    from numba import njit

    @njit
    def inner(x):
        return x + 1.0

    @njit
    def outer(x):
        return inner(x) * 2.0

    times = bench.CompileTimes()
    assert times.record(lambda: outer(1.0)) == 4.0
    rows = {name.rsplit(".", 1)[-1]: (depth, total, own) for name, depth, total, own in times.rows}
    assert rows["outer"][0] == 0 and rows["inner"][0] == 1  # inner compiled within outer
    assert rows["outer"][1] >= rows["inner"][1] > 0
    assert rows["outer"][2] == pytest.approx(rows["outer"][1] - rows["inner"][1])


def test_bench_survey_reports_the_wall_time_and_the_cost_of_a_site():
    out, r = run_bench("bench_survey.py", "--grid", "2", "--runs-per-site", "2", "--threads",
                       "1", "--region", "47.4", "47.6", "44.3", "44.5")
    assert r["sites"] == 4 and r["samples"] == 8 and 0 <= r["landed"] <= 8
    assert r["wall_s"] == pytest.approx(r["flying_s"] + r["files_and_map_s"])
    assert r["s_per_site"] == pytest.approx(r["wall_s"] / 4)
    assert r["samples_per_s"] == pytest.approx(8 / r["wall_s"])
    assert r["campaign_steady_samples_per_s"] is None or r["campaign_steady_samples_per_s"] > 0
    assert "per site" in out and "samples per second" in out and "one campaign" in out


def test_bench_memory_reports_the_peak_beside_the_table():
    out, r = run_bench("bench_memory.py", "--runs", "12", "--threads", "1")
    assert r["runs"] == 12 and not r["figures"]
    assert r["peak_mb"] >= r["before_mb"] > 0 and r["row_bytes"] > 100
    assert r["grew_bytes_per_sample"] == pytest.approx(1e6 * r["grew_mb"] / 12)
    assert "peak of the campaign" in out


def test_bench_guidance_times_each_size_and_example():
    out, r = run_bench("bench_guidance.py", "--sizes", "10", "20", "--repeat", "1",
                       "--examples", "1", "--closed-loop", "1")
    assert list(r["sizes"]) == ["10", "20"]
    for row in r["sizes"].values():
        assert 0 < row["solver_ms"] <= row["wall_ms"] and row["propellant_kg"] > 0
    assert r["sizes"]["20"]["vs_finest_kg"] == 0.0
    (example,) = r["examples"].values()
    assert example["status"] == "optimal" and example["solves"] > 10
    loop = r["closed_loop"]
    assert loop["solves_per_sample"] > 10 and loop["ratio"] > 1.0
    assert loop["chandrayaan-3-optimal_propellant_kg"] > 0
    assert "Clarabel" in out and "closed loop" in out
