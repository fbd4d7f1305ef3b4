"""The investigation sees only what the ground received: its findings never import the world,
the flight software or the simulation (the truth overlay is read from files, apart)."""

import subprocess
import sys

FORBIDDEN = ("touchdown.world", "touchdown.fsw", "touchdown.sim")
INVESTIGATION = ("touchdown.report.received", "touchdown.report.track",
                 "touchdown.report.findings")


def test_the_findings_load_no_world_fsw_or_sim_module():
    code = (f"import sys; [__import__(m) for m in {INVESTIGATION!r}]; "
            f"print(' '.join(m for m in sys.modules if m.startswith({FORBIDDEN!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""
