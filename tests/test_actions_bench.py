"""scripts/actions_bench.py's own bookkeeping (the benchmark itself runs for minutes on a quiet machine)."""

from __future__ import annotations

from tests.test_scripts import _script


def test_rounds_alternate_and_the_table_says_pass_or_fail():
    bench = _script("actions_bench")
    calls: list[str] = []
    fps = {"none": 100.0, "all": 96.0, "no_record": 98.0}
    runs = bench.alternate(3, tuple(fps), lambda name: calls.append(name) or {"fps": fps[name]})
    assert calls == ["none", "all", "no_record", "no_record", "all", "none", "none", "all", "no_record"]
    assert len(runs["all"]) == 3
    rows = {name: bench.rows([{"fps": r["fps"], "classified": 300, "cpu_s": 0.6} for r in runs[name]]) for name in runs}
    assert rows["none"]["median_fps"] == 100.0 and rows["all"]["cpu_ms_per_frame"] == [2.0] * 3
    result = {"export": "e", "video": "v.mp4", "cpu": "CPU (2 cores)", "rounds": 3, "frames": 300, "command": "python x",
              "actions": {"flags": "--mqtt --on-change --record", "gpio": False, "fired": [], **rows, "ratio": 0.96,
                          "ok": True, "ratio_no_record": 0.98},
              "sources": {"one": rows["none"], "two": rows["all"], "two_per_source_fps": {"a": [48.0], "b": [48.0]},
                          "two_batches": []}}
    text = bench.markdown(result)
    assert "**0.960** (target >= 0.95: pass)" in text and "--gpio left out" in text and "| two (a=VIDEO b=VIDEO) |" in text
    assert "CPU: CPU (2 cores)" in text and "| all but --record (--mqtt --on-change) | [98.0, 98.0, 98.0] | 98.0 |" in text
    assert "All but --record / none: **0.980**" in text
