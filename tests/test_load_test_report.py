"""benchmarks/load_test.py's numbers: percentiles, the memory slope ("flat" as a number),
RSS sampling and the verdict (no server: tests/test_load_smoke.py drives a real one)."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from benchmarks import load_test as lt


def test_percentiles_interpolate():
    values = [float(v) for v in range(1, 101)]
    assert lt.pct(values, 50) == pytest.approx(50.5)
    assert lt.pct(values, 95) == pytest.approx(95.05)
    assert lt.pct([], 95) is None


def test_slope_is_mb_per_ten_minutes():
    points = [(t, 300 + 0.01 * t) for t in range(0, 1200, 15)]   # +0.6 MB a minute
    assert lt.slope_per_10min(points) == pytest.approx(6.0)
    assert lt.slope_per_10min([(0, 300)]) is None
    assert lt.slope_per_10min([(5, 300), (5, 310)]) is None


def test_memory_stats_judge_the_second_half():
    rising = [(t, 300 + t / 10) for t in range(0, 300, 15)]      # caches filling
    flat = [(t, 330.0) for t in range(300, 600, 15)]
    st = lt.memory_stats(rising + flat)
    assert st["first_mb"] == 300 and st["max_mb"] == 330 and st["last_mb"] == 330
    assert st["slope_mb_per_10min"] > 0
    assert st["second_half_slope_mb_per_10min"] == pytest.approx(0, abs=1e-9)
    assert lt.memory_stats([]) == {}


def test_rss_of_this_process_and_of_a_gone_one():
    assert lt.rss_mb(os.getpid()) > 10
    assert lt.rss_mb(2 ** 22 + 12345) is None


def test_sampler_samples_until_the_stop_time():
    sampler = lt.MemorySampler({"me": os.getpid()}, interval=0.05)
    t0 = time.perf_counter()
    asyncio.run(asyncio.wait_for(sampler.run(t0, t0 + 0.3), 5))
    summary = sampler.summary()
    assert summary["samples"] >= 3
    assert summary["processes"]["me"]["max_mb"] > 10
    assert summary["total"]["first_mb"] == summary["processes"]["me"]["first_mb"]


def test_pids_from_the_cluster_scripts_directory(tmp_path):
    (tmp_path / "app-8601.pid").write_text("123\n")
    (tmp_path / "app-8602.pid").write_text("456\n")
    (tmp_path / "nginx.pid").write_text("789\n")
    (tmp_path / "app-8603.pid").write_text("not a pid\n")
    assert lt.pids_in(str(tmp_path)) == {"app:8601": 123, "app:8602": 456}


def _row(first_p95, rerun_p95, errors=0, slope=1.0):
    return {"target": "t", "first_p95": first_p95, "rerun_p95": rerun_p95, "errors": errors,
            "memory": {"processes": {"a": {"second_half_slope_mb_per_10min": slope}}}}


def test_verdict(capsys):
    assert lt.verdict(_row(0.4, 0.3), 0.5, 10)
    assert not lt.verdict(_row(0.6, 0.3), 0.5, 10)
    assert not lt.verdict(_row(0.4, 0.3, errors=1), 0.5, 10)
    assert not lt.verdict(_row(0.4, 0.3, slope=25.0), 0.5, 10)
    assert "✗" in capsys.readouterr().out


def test_modes_are_exclusive_and_loopback_only():
    with pytest.raises(SystemExit):
        lt.main(["--url", "http://192.0.2.1:8501"])
    with pytest.raises(SystemExit):
        lt.main(["--cluster", "2", "--capacity"])
