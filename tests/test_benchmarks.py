"""A small smoke run of the speed benchmark, so it keeps working; the real run is by hand."""

from __future__ import annotations

import io

from benchmarks.speed import run


def test_speed_benchmark_smoke_run():
    out = io.StringIO()  # the benchmark makes its own temporary SQLite database
    figures = run(members=300, runs=2, database_url=None, out=out)
    assert set(figures) == {"find", "home", "bare", "delivery"}
    assert len(figures["delivery"].seconds) == 300
    report = out.getvalue()
    assert "seeded 300 members" in report and "x the bare Bolt app" in report
