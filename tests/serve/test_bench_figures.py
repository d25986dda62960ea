"""The README's --serve figures: the code of `make serve-bench` (scripts/serve_load.py) run on the tiny export
for a few seconds has the form and relations the README quotes, and the committed benchmarks/serve/load.json
renders, through the same code, into the committed load.md, its own checks and the README's sentences."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from tests.conftest import real_photos

ROOT = Path(__file__).resolve().parents[2]
RESULT = ROOT / "benchmarks" / "serve" / "load.json"


def serve_load():
    spec = importlib.util.spec_from_file_location("serve_load", ROOT / "scripts" / "serve_load.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def readme_sentences(result: dict) -> list[str]:
    """The README's sentences, from a serve_load result (a key the script stops writing is a KeyError here)."""
    c8 = next(r for r in result["server"]["levels"] if r["clients"] == 8)
    c64 = next(r for r in result["server"]["levels"] if r["clients"] == 64)
    rss = result["server"]["rss"]
    return [f"got {c8['throughput_per_s']} answers/s against {result['folder_pipeline']['img_per_s']} img/s",
            f"p99 {c8['p99_ms']:.0f} ms = {c8['p99_ms'] / c8['p50_ms']:.1f}x p50",
            f"the {c64['rejected_503']:,} refused got 503 within {c64['503_max_ms']} ms",
            f"{rss['requests']:,} requests: {rss['before_mb']} -> {rss['after_mb']} MB"]


def test_committed_run_renders_into_load_md_and_the_readme():
    assert RESULT.is_file(), "benchmarks/serve/load.json is missing: the README quotes it (make serve-bench)"
    result = json.loads(RESULT.read_text())
    bench = serve_load()
    assert bench.checks(result) == result["checks"] and all(result["checks"].values()), result["checks"]
    rss = result["server"]["rss"]
    rss["rss_mb_by_request"] = [tuple(pair) for pair in rss["rss_mb_by_request"]]  # JSON turned the tuples into lists
    assert bench.markdown(result) == (RESULT.parent / "load.md").read_text()
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    for sentence in readme_sentences(result):
        assert sentence in readme, sentence
    assert all(r["errors"] == 0 for r in result["server"]["levels"])  # the README's "0 errors"


def test_the_benchmark_code_measures_what_the_readme_quotes(tiny_export, tmp_path):
    """One short serve_load run (levels of 1, 8 and 64 clients, 1 s each) on the tiny INT8 export."""
    bench = serve_load()
    artifact = tiny_export / "model.int8.onnx"
    paths = [p for ps in real_photos(4, ("daisy", "dandelion", "roses", "sunflowers", "tulips")).values() for p in ps]
    result = {"artifact": str(artifact), "photos": len(paths), "cpu": "test", "cores": 2, "command": "pytest",
              "folder_pipeline": bench.folder_rate(artifact, paths, [(8, 2)])}
    result["server"] = bench.load_levels(artifact, [p.read_bytes() for p in paths], [1, 8, 64], 1.0, 400,
                                         rss_requests=60, workdir=tmp_path)
    result["folder_pipeline_after"] = result["folder_pipeline"]
    result["checks"] = bench.checks(result)
    rows = {r["clients"]: r for r in result["server"]["levels"]}
    for r in rows.values():
        assert r["errors"] == 0 and r["ok"] + r["rejected_503"] == r["requests"] > 0, r
        assert r["p50_ms"] <= r["p99_ms"] <= r["max_ms"], r
    assert rows[1]["rejected_503"] == rows[8]["rejected_503"] == 0  # within the queue (32): nobody refused
    assert rows[64]["rejected_503"] > 0 and rows[64]["503_max_ms"] > 0  # beyond it: refused at once, with 503
    health = result["server"]["healthy_after_levels"]
    assert result["server"]["good_request_after"] and health["ready"] and health["queued"] == 0, health  # "healthy afterwards"
    rss = result["server"]["rss"]
    assert rss["requests"] == 60 and rss["errors"] == 0 and rss["before_mb"] > 0 and rss["after_mb"] > 0
    assert set(result["checks"]) == {"8_clients_throughput_vs_folder", "8_clients_ok", "64_clients_ok", "rss_ok"}
    assert len(readme_sentences(result)) == 4
    table = bench.markdown(result)
    for r in rows.values():
        assert f"| {r['clients']} | {r['requests']} | {r['ok']} | {r['rejected_503']} | {r['errors']} |" in table
