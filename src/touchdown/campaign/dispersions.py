"""Dispersions: what a Monte Carlo campaign varies, read from ``NAME.campaign.toml``.

A campaign file lists ``[[dispersion]]`` entries, each naming a scenario field by its path and
a distribution around the scenario's (nominal) value::

    [[dispersion]]
    path = "lander.main_engine.thrust_n"
    distribution = "normal"          # normal | uniform | truncated_normal
    sigma = 4.0                      # normal, truncated_normal: 1-sigma, field units
    # low = ..., high = ...          # uniform, truncated_normal: absolute bounds

Vector fields take a number (each component) or a list per component. ``extends = "FILE"``
starts from another campaign file's dispersions (entries here replace its entries by path).

Who sees a dispersed value: fields of the lander, its sensors, the landing limits and the
faults (``lander.*``, ``sensors.*``, ``touchdown.*``, ``faults.*``) describe the real hardware:
the world flies the dispersed value while the flight software keeps the nominal one it was
loaded with. Every other
field (target, orbit, flight software, guidance) is part of the plan: both sides use it.

Sample ``i`` of a campaign with root seed ``S`` draws from ``SeedSequence(S, spawn_key=(i,))``
alone, so any sample can be flown again on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from touchdown.errors import ScenarioError
from touchdown.scenario import CAMPAIGN_SUFFIX, FIELDS, Scenario, read_toml
from touchdown.seeds import children

DISTRIBUTIONS = {
    "normal": ("sigma",),
    "uniform": ("low", "high"),
    "truncated_normal": ("sigma", "low", "high"),
}
REAL_SECTIONS = ("lander.", "sensors.", "touchdown.", "faults.")
NORMAL_REACH = 6.0  # a normal dispersion must stay within the field's bounds to 6 sigma


@dataclass(frozen=True)
class Dispersion:
    """One dispersed field: per-component distribution parameters (length 1 for scalars)."""

    path: str
    distribution: str
    sigma: tuple[float, ...] = ()
    low: tuple[float, ...] = ()
    high: tuple[float, ...] = ()

    @property
    def real(self) -> bool:
        """True when the value belongs to the hardware (the flight software keeps nominal)."""
        return self.path.startswith(REAL_SECTIONS)

    def columns(self) -> list[str]:
        """Column names of the drawn value in the samples table."""
        kind = FIELDS[self.path][0]
        if kind == "float":
            return [self.path]
        return [f"{self.path}[{i}]" for i in range(int(kind[-1]))]

    def draw(self, nominal: Any, rng: np.random.Generator) -> Any:
        """One value around ``nominal`` (a float or a tuple, as the scenario holds it)."""
        mean = np.atleast_1d(np.asarray(nominal, dtype=float))
        u = rng.random(mean.size)
        if self.distribution == "uniform":
            lo, hi = np.asarray(self.low), np.asarray(self.high)
            x = lo + u * (hi - lo)
        else:
            sig = np.asarray(self.sigma)
            if self.distribution == "normal":
                x = mean + sig * ndtri(u)
            else:  # inverse-CDF draw of a normal truncated to [low, high]
                a = ndtr((np.asarray(self.low) - mean) / sig)
                b = ndtr((np.asarray(self.high) - mean) / sig)
                x = np.clip(mean + sig * ndtri(a + u * (b - a)), self.low, self.high)
        return float(x[0]) if np.ndim(nominal) == 0 else tuple(float(v) for v in x)


@dataclass(frozen=True)
class Campaign:
    """The dispersions of a campaign and the file they came from (None: seed-driven only)."""

    dispersions: tuple[Dispersion, ...]
    path: Path | None = None

    def columns(self) -> list[str]:
        return [c for d in self.dispersions for c in d.columns()]

    def sample(self, nominal: Scenario, root_seed: int,
               index: int) -> tuple[Scenario, Scenario, np.random.SeedSequence, dict[str, float]]:
        """Sample ``index``: (plan, real scenario, the flight's seed, the drawn inputs by column).

        The flight's seed drives the orbit-determination error and all sensor noise.
        """
        disp_seq, flight_seq = children(np.random.SeedSequence(root_seed, spawn_key=(index,)), 2)
        rng = np.random.default_rng(disp_seq)
        plan_changes: dict[str, Any] = {}
        real_changes: dict[str, Any] = {}
        inputs: dict[str, float] = {}
        for d in self.dispersions:
            value = d.draw(nominal[d.path], rng)
            (real_changes if d.real else plan_changes)[d.path] = value
            inputs.update(zip(d.columns(), np.atleast_1d(value).tolist(), strict=True))
        plan = nominal.replace(plan_changes) if plan_changes else nominal
        real = plan.replace(real_changes) if real_changes else plan
        return plan, real, flight_seq, inputs


def campaign_file_for(scenario_path: Path) -> Path:
    """``NAME.campaign.toml`` beside ``NAME.toml``."""
    return scenario_path.with_name(scenario_path.stem + CAMPAIGN_SUFFIX)


def load_campaign(path: Path, nominal: Scenario, _seen: tuple[Path, ...] = ()) -> Campaign:
    """Read and check a campaign file against the nominal scenario it disperses."""
    path = Path(path)
    if path.resolve() in _seen:
        raise ScenarioError(path, "extends", "forms a loop",
                            "make the chain of extends end at a file without one")
    doc = read_toml(path, f"give an existing campaign file (NAME{CAMPAIGN_SUFFIX})")
    unknown = set(doc) - {"extends", "dispersion"}
    if unknown:
        raise ScenarioError(path, sorted(unknown)[0], "is not a known campaign field",
                            "a campaign file holds `extends` and [[dispersion]] entries only")
    by_path: dict[str, Dispersion] = {}
    if "extends" in doc:
        base = path.parent / str(doc["extends"])
        for d in load_campaign(base, nominal, (*_seen, path.resolve())).dispersions:
            by_path[d.path] = d
    entries = doc.get("dispersion", [])
    if not isinstance(entries, list):
        raise ScenarioError(path, "dispersion", "must be a list of tables",
                            "write each entry as [[dispersion]]")
    for k, entry in enumerate(entries):
        d = _dispersion(path, f"dispersion[{k}]", entry, nominal)
        by_path[d.path] = d
    return Campaign(tuple(by_path.values()), path)


def _dispersion(path: Path, where: str, entry: Any, nominal: Scenario) -> Dispersion:
    """Check one [[dispersion]] entry and return it with per-component parameters."""
    def bad(field: str, problem: str, hint: str) -> ScenarioError:
        return ScenarioError(path, f"{where}.{field}" if field else where, problem, hint)

    if not isinstance(entry, dict):
        raise bad("", "must be a table", "write it as [[dispersion]] with path = ...")
    field = entry.get("path")
    if field not in FIELDS:
        raise bad("path", f"names no scenario field ({field!r})",
                  "use a field path from the scenario file, e.g. lander.propellant_kg")
    kind, lo, hi, what = FIELDS[field]
    if kind not in ("float", "vec3", "vec2"):
        raise bad("path", f"{field} is a {kind} field and cannot be dispersed",
                  "disperse a real-valued field")
    dist = entry.get("distribution")
    if dist not in DISTRIBUTIONS:
        raise bad("distribution", f"must be one of {', '.join(DISTRIBUTIONS)}, got {dist!r}",
                  "choose a distribution")
    need = DISTRIBUTIONS[dist]
    extra = set(entry) - {"path", "distribution", *need}
    if extra:
        raise bad(sorted(extra)[0], f"is not a parameter of a {dist} dispersion",
                  f"a {dist} dispersion takes {', '.join(need)}")
    n = 1 if kind == "float" else int(kind[-1])
    params: dict[str, tuple[float, ...]] = {}
    for name in need:
        if name not in entry:
            raise bad(name, "is missing", f"a {dist} dispersion takes {', '.join(need)}")
        raw = entry[name]
        values = raw if isinstance(raw, list) else [raw] * n
        if len(values) != n or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                for v in values):
            raise bad(name, f"must be a number or a list of {n} numbers, got {raw!r}",
                      f"give it in the field's units ({what})")
        params[name] = tuple(float(v) for v in values)
    mean = np.atleast_1d(np.asarray(nominal[field], dtype=float))
    sigma = params.get("sigma", ())
    if any(s <= 0.0 for s in sigma):
        raise bad("sigma", "must be above 0", "give a positive standard deviation")
    low, high = params.get("low", ()), params.get("high", ())
    if low:
        if any(a >= b for a, b in zip(low, high, strict=True)):
            raise bad("low", "must be below high", "swap or widen the bounds")
        if (lo is not None and min(low) < lo) or (hi is not None and max(high) > hi):
            raise bad("low" if lo is not None and min(low) < lo else "high",
                      f"reaches outside the field's range [{lo:g}, {hi:g}]",
                      "keep the bounds inside the range the scenario accepts")
        if dist == "truncated_normal" and any(not a <= m <= b
                                              for a, m, b in zip(low, mean, high, strict=True)):
            raise bad("low", f"[low, high] must contain the nominal value {nominal[field]}",
                      "center the bounds around the scenario's value")
    elif dist == "normal":
        reach_lo = mean - NORMAL_REACH * np.asarray(sigma)
        reach_hi = mean + NORMAL_REACH * np.asarray(sigma)
        if (lo is not None and reach_lo.min() < lo) or (hi is not None and reach_hi.max() > hi):
            raise bad("sigma", f"lets {field} leave its range [{lo:g}, {hi:g}] within "
                      f"{NORMAL_REACH:g} sigma", "use truncated_normal with low and high")
    return Dispersion(field, dist, sigma, low, high)
