"""A campaign's results folder: what was flown, finished samples, and nothing lost on the way.

    DIR/campaign.json     what defines the campaign: scenario text, dispersions, root seed, runs
    DIR/parts/*.parquet   finished chunks, written as each one completes (atomic renames)
    DIR/samples.parquet   all finished samples, one row each, sorted by sample
    DIR/summary.json      statistics (written by the caller)

An interrupted campaign keeps its parts; ``--resume`` flies only the samples not yet stored.
A folder holding a different campaign is never overwritten.
"""

from __future__ import annotations

import contextlib
import json
import tomllib
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from touchdown.campaign.dispersions import Campaign, Dispersion
from touchdown.errors import ResultsError
from touchdown.files import write_atomic
from touchdown.scenario import Scenario, read_scenario

FORMAT = 1


def manifest(nominal: Scenario, campaign: Campaign, seed: int, runs: int) -> dict[str, Any]:
    """Everything needed to fly any sample again, independent of later edits to the files."""
    return {
        "format": FORMAT,
        "scenario": nominal.name,
        "scenario_file": str(nominal.path),
        "scenario_toml": nominal.path.read_text(encoding="utf-8"),
        # the document with any file it extends merged in: what the samples flew
        "scenario_doc": read_scenario(nominal.path),
        "campaign_file": str(campaign.path) if campaign.path else None,
        "dispersions": [asdict(d) for d in campaign.dispersions],
        "seed": seed,
        "runs": runs,
    }


def _same_campaign(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = ("scenario_doc", "dispersions", "seed")
    return all(json.dumps(a.get(k), sort_keys=True) == json.dumps(b.get(k), sort_keys=True)
               for k in keys)


class ResultsDir:
    """The results folder of one campaign."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.manifest_path = self.path / "campaign.json"
        self.parts = self.path / "parts"
        self.samples_path = self.path / "samples.parquet"
        self.summary_path = self.path / "summary.json"

    def exists(self) -> bool:
        return self.manifest_path.exists()

    def read_manifest(self) -> dict[str, Any]:
        try:
            return json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ResultsError(f"{self.path} holds no campaign (no campaign.json); give the "
                               "folder a campaign wrote with --out") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ResultsError(f"{self.manifest_path} is not readable JSON ({exc}); "
                               "it was damaged: fly the campaign again into a new folder"
                               ) from None

    def open(self, wanted: dict[str, Any], resume: bool) -> set[int]:
        """Start the campaign, or continue it (``resume``); return the samples already stored.

        With ``resume`` and nothing stored yet, the campaign starts, so one command both starts
        a campaign and finishes an interrupted one.
        """
        if self.exists():
            held = self.read_manifest()
            if not resume:
                raise ResultsError(f"{self.path} already holds a campaign; pass --resume to "
                                   "continue it, or give another --out folder")
            if not _same_campaign(held, wanted):
                raise ResultsError(f"{self.path} holds a different campaign (scenario, "
                                   "dispersions or seed differ); give another --out folder")
            if wanted["runs"] < held["runs"]:
                raise ResultsError(f"the campaign in {self.path} has {held['runs']} runs; "
                                   f"pass --runs {held['runs']} or more to resume it")
        self.parts.mkdir(parents=True, exist_ok=True)
        wanted = {**wanted, "created_utc": datetime.now(UTC).isoformat(timespec="seconds")}
        write_atomic(self.manifest_path,
                     lambda p: p.write_text(json.dumps(wanted, indent=2) + "\n", "utf-8"))
        return set(self.samples()["sample"].tolist())

    def add(self, rows: pd.DataFrame) -> None:
        """Store a finished chunk at once (it survives a later Ctrl-C or crash)."""
        first = int(rows["sample"].min())
        write_atomic(self.parts / f"part-{first:09d}-{len(rows)}.parquet",
                     lambda p: rows.to_parquet(p, index=False))

    def samples(self) -> pd.DataFrame:
        """Every stored sample (samples.parquet and parts), sorted, each once."""
        frames = []
        if self.samples_path.exists():
            frames.append(pd.read_parquet(self.samples_path))
        if self.parts.exists():
            frames += [pd.read_parquet(p) for p in sorted(self.parts.glob("part-*.parquet"))]
        if not frames:
            return pd.DataFrame({"sample": pd.Series([], dtype="int64")})
        df = pd.concat(frames, ignore_index=True)
        return df.drop_duplicates("sample").sort_values("sample").reset_index(drop=True)

    def consolidate(self) -> pd.DataFrame:
        """Fold the parts into samples.parquet, then remove them; return the table."""
        df = self.samples()
        write_atomic(self.samples_path, lambda p: df.to_parquet(p, index=False))
        if self.parts.exists():
            for p in self.parts.glob("part-*.parquet"):
                p.unlink()
            with contextlib.suppress(OSError):
                self.parts.rmdir()
        return df

    def campaign(self) -> tuple[Scenario, Campaign, int]:
        """The nominal scenario, dispersions and root seed exactly as flown."""
        m = self.read_manifest()
        doc = m.get("scenario_doc") or tomllib.loads(m["scenario_toml"])  # (older folders)
        nominal = Scenario.from_dict(doc, m["scenario_file"])
        dispersions = tuple(
            Dispersion(d["path"], d["distribution"], tuple(d["sigma"]), tuple(d["low"]),
                       tuple(d["high"])) for d in m["dispersions"])
        path = Path(m["campaign_file"]) if m["campaign_file"] else None
        return nominal, Campaign(dispersions, path), int(m["seed"])
