"""The README's --serve figures come from the committed benchmarks/serve/load.json (make serve-bench)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_readme_serve_figures_match_the_committed_run():
    result_file = ROOT / "benchmarks" / "serve" / "load.json"
    if not result_file.is_file():
        pytest.skip("no benchmarks/serve/load.json (make serve-bench)")
    result = json.loads(result_file.read_text())
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    c8 = next(r for r in result["server"]["levels"] if r["clients"] == 8)
    c64 = next(r for r in result["server"]["levels"] if r["clients"] == 64)
    rss = result["server"]["rss"]
    assert f"got {c8['throughput_per_s']} answers/s against {result['folder_pipeline']['img_per_s']} img/s" in readme
    assert f"p99 {c8['p99_ms']:.0f} ms = {c8['p99_ms'] / c8['p50_ms']:.1f}x p50" in readme
    assert f"the {c64['rejected_503']:,} refused got 503 within {c64['503_max_ms']} ms" in readme
    assert f"{rss['requests']:,} requests: {rss['before_mb']} -> {rss['after_mb']} MB" in readme
    assert c8["errors"] == 0 and c64["errors"] == 0 and all(result["checks"].values()), result["checks"]
