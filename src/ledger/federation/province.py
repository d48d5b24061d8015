"""The provincial view: follow every city of a province file, verify what each serves, and add
their figures up. The state file remembers, per city, the checkpoint verified last and what the
verifier needs to continue from it, so each run reads only the entries that are new."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import LedgerError, StorageError
from .province_file import CitySpec, load_province
from .province_follow import CityProgress, CityRefused, follow_city
from .province_reader import TileReader
from .province_views import sum_figures

STATE_KIND = "ledger-province-state"


@dataclass
class CityOutcome:
    name: str
    url: str
    size: int = 0
    new_entries: int = 0
    requests: int = 0
    figures: dict[str, Any] | None = None
    error: str | None = None


@dataclass
class ProvinceView:
    cities: list[CityOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(city.error is None for city in self.cities)

    @property
    def totals(self) -> dict[str, Any] | None:
        """The province's figures, only when every city verified (a partial sum is no total)."""
        if not self.ok:
            return None
        return sum_figures([c.figures for c in self.cities if c.figures is not None])

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "cities": [
                {
                    "name": c.name,
                    "url": c.url,
                    "log_size": c.size,
                    "new_entries": c.new_entries,
                    "requests": c.requests,
                    "figures": c.figures,
                    "error": c.error,
                }
                for c in self.cities
            ],
            "province": self.totals,
        }


def load_state(path: Path) -> dict[str, CityProgress]:
    """The saved progress per city (nothing yet if the file does not exist)."""
    if not path.exists():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise StorageError(f"cannot read the province state {path}: {error}") from None
    if not isinstance(document, dict) or document.get("kind") != STATE_KIND:
        raise StorageError(f"{path} is not a province state file")
    cities = document.get("cities")
    if not isinstance(cities, dict):
        raise StorageError(f"{path} is not a province state file")
    return {name: CityProgress.from_json(name, saved) for name, saved in cities.items()}


def save_state(path: Path, progress: dict[str, CityProgress]) -> None:
    """Write the state file whole, then move it into place (a crash leaves the old one)."""
    document = {
        "kind": STATE_KIND,
        "cities": {name: p.to_json() for name, p in sorted(progress.items())},
    }
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    os.replace(partial, path)


def province_stats(
    province: Path,
    state: Path,
    *,
    workers: int = 1,
    reader_for: Callable[[CitySpec], TileReader] | None = None,
) -> ProvinceView:
    """Follow each city of ``province`` from what ``state`` remembers; save what verified.

    A city that does not verify is reported with the reason and keeps its saved state; the
    others advance. The totals are given only when every city verified.
    """
    specs = load_province(province)
    progress = load_state(state)
    view = ProvinceView()
    make_reader = reader_for or (lambda spec: TileReader(spec.url))
    for spec in specs:
        outcome = CityOutcome(spec.name, spec.url)
        view.cities.append(outcome)
        saved = progress.get(spec.name)
        reader = make_reader(spec)
        try:
            result = follow_city(spec, saved, reader, workers=workers)
        except CityRefused as error:
            outcome.error = error.message
        except LedgerError as error:
            outcome.error = f"city {spec.name}: {error.message}"
        else:
            progress[spec.name] = result.progress
            outcome.size = result.progress.size
            outcome.figures = result.progress.figures
            outcome.new_entries = result.new_entries
        finally:
            outcome.requests = reader.counts.requests
            reader.close()
    save_state(state, progress)
    return view
