"""edge bench on a tiny run: files, row schema, the pytorch baseline, the thread sweep."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from edge.cli.main import app

runner = CliRunner()
ROW_KEYS = {"format", "precision", "latency_ms_p50", "latency_ms_p90", "throughput_ips", "accuracy",
            "top1_agreement", "size_mb", "peak_rss_mb", "floor_ms"}


def test_bench_writes_json_md_png_and_sweeps(tiny_run, tiny_export, tmp_path):
    out = tmp_path / "bench"
    result = runner.invoke(app, ["bench", str(tiny_run), "--export-dir", str(tiny_export), "--out", str(out),
                                 "--formats", "onnx", "--formats", "onnx-int8", "--repeats", "5", "--sweep-threads"])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "bench.json").read_text())
    assert [r["format"] for r in data["rows"]] == ["pytorch", "onnx", "onnx-int8"]
    for row in data["rows"]:
        assert ROW_KEYS <= set(row) and row["latency_ms_p50"] > 0 and row["floor_ms"] > 0
    assert data["rows"][1]["top1_agreement"] == 1.0  # FP32 ONNX vs the PyTorch baseline
    assert "slower_than_fp32" in data["rows"][2]
    assert {"cpu", "cores", "peak_fp32_gflops", "model_gflops"} <= set(data["machine"])
    assert data["thread_sweep"]["rows"][0]["threads"] == 1
    assert (out / "bench.md").read_text().startswith("# edge bench")
    assert (out / "bench.png").stat().st_size > 1000
    assert 'threads = ' in (out / "device-profile.toml").read_text()
