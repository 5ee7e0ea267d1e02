"""Small smoke runs of the benchmarks, so they keep working; the real runs are by hand."""

from __future__ import annotations

import io

from benchmarks import find


def test_find_benchmark_smoke_run():
    out = io.StringIO()  # the benchmark makes its own temporary SQLite database
    [result] = find.run(["sqlite"], [300], runs=3, queries=10, finds=0, out=out)
    assert len(result.dispatch.values) == len(result.bare_dispatch.values) == 3
    report = out.getvalue()
    assert "seeded 300 members" in report and "top three equal to the full ranking: 10/10" in report
    assert report.splitlines()[-1].startswith("ratio ")
