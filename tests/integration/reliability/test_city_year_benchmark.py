"""``benchmarks/bench_city_year.py --quick`` writes a tiny city's year on PostgreSQL with
concurrent writer processes and prints every figure the [scale-write] section reports: latency
per tenth, the last/first p99 ratio, events per second, bytes per event, the audit's time and
memory (and the audit passes); it writes the SVG plot and drops its schema."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from federation_support import POSTGRES_URL, require_postgres

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "bench_city_year.py"
NUMBER = r"([\d,]+(?:\.\d+)?)"


def figure(pattern: str, output: str) -> float:
    found = re.search(pattern, output)
    assert found is not None, f"no {pattern!r} in:\n{output}"
    return float(found.group(1).replace(",", ""))


@pytest.mark.slow  # 14 to 27 s here: writer processes and an audit
def test_a_quick_city_year_prints_its_figures_and_plot(tmp_path: Path) -> None:
    require_postgres()
    plot = tmp_path / "latency.svg"
    env = {**os.environ, "LEDGER_BENCH_POSTGRES_URL": POSTGRES_URL.split("?")[0]}
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--writers", "2", "--plot", str(plot)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    output = run.stdout
    assert run.returncode == 0, output + run.stderr

    tenths = re.findall(rf"tenth +(\d+): +{NUMBER} commands .* {NUMBER} events stored", output)
    assert [int(t[0]) for t in tenths] == list(range(1, 11))
    stored = [int(t[2].replace(",", "")) for t in tenths]
    assert stored == sorted(stored) and stored[0] < stored[-1]
    assert figure(rf"p99 last tenth / first tenth: {NUMBER}", output) > 0
    assert figure(rf"events/s over the year: {NUMBER}", output) > 0
    assert figure(rf"bytes per event on disk: {NUMBER}", output) > 100
    audited = figure(rf"audit: {NUMBER} events in", output)
    assert audited == stored[-1], "the audit checks every stored event"
    assert figure(rf"peak RSS {NUMBER} MB", output) > 10
    assert re.search(r"audit: .* 0 findings \(ok\)", output), output
    for kind in (
        "record_roster",
        "approve_records",
        "correct_record",
        "void_record",
        "transfer_credit",
        "issue_certificate",
        "accept_transfer",
    ):
        assert re.search(rf"{kind} [1-9]", output), f"no {kind} commands ran"
    assert "refused" not in output, output

    svg = ET.parse(plot).getroot()
    lines = svg.findall("{http://www.w3.org/2000/svg}polyline")
    assert len(lines) == 3
    assert all(len(line.attrib["points"].split()) == 10 for line in lines)

    schema = re.search(r"schema (\S+), dropped at the end", output)
    assert schema is not None
    import psycopg

    with psycopg.connect(POSTGRES_URL.split("?")[0]) as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_namespace WHERE nspname = %s", [schema.group(1)]
        ).fetchone()
    assert left == (0,), "the benchmark's schema was dropped"
