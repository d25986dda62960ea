"""edge bench on a tiny run: files, row schema, the pytorch baseline, peers and floors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from edge.cli.main import app
from edge.errors import EdgeError

runner = CliRunner()
ROW_KEYS = {"format", "precision", "latency_ms_p50", "latency_ms_p90", "throughput_ips", "accuracy",
            "top1_agreement", "size_mb", "peak_rss_mb", "floor_ms"}


def test_bench_writes_json_md_png(tiny_run, tiny_export, tmp_path):
    out = tmp_path / "bench"
    result = runner.invoke(app, ["bench", str(tiny_run), "--export-dir", str(tiny_export), "--out", str(out),
                                 "--formats", "onnx", "--formats", "onnx-int8", "--repeats", "5"])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "bench.json").read_text())
    assert [r["format"] for r in data["rows"]] == ["pytorch", "onnx", "onnx-int8"]
    for row in data["rows"]:
        assert ROW_KEYS <= set(row) and row["latency_ms_p50"] > 0 and row["floor_ms"] > 0
    assert data["rows"][1]["top1_agreement"] == 1.0  # FP32 ONNX vs the PyTorch baseline
    assert "slower_than_fp32" in data["rows"][2]
    assert {"cpu", "cores", "peak_fp32_gflops", "model_gflops"} <= set(data["machine"])
    assert (out / "bench.md").read_text().startswith("# edge bench")
    assert (out / "bench.png").stat().st_size > 1000


@pytest.fixture
def export_calls(tiny_export, monkeypatch):
    """edge export replaced by a copy of tiny_export, each call recorded: where, which formats, force."""
    import shutil

    from edge.export import pipeline

    calls = []

    def fake_export(*, source, out, formats, log, force=False):
        calls.append({"out": out, "formats": formats, "force": force})
        shutil.copytree(tiny_export, out, dirs_exist_ok=True)

    monkeypatch.setattr(pipeline, "export", fake_export)
    return calls


def _files(folder):
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_missing_format_is_exported_aside_not_into_the_export(tiny_run, tiny_export, tmp_path, export_calls,
                                                                monkeypatch):
    """`edge bench RUN --export-dir EXP` re-exported all formats into EXP (and lost its tune cache)."""
    import shutil

    from edge.bench import run

    monkeypatch.setattr(run, "floor_ms", lambda info, precision, size_mb: (0.0, "compute"))  # not under test here
    export = shutil.copytree(tiny_export, tmp_path / "export")
    (export / "model.int8.onnx").unlink()
    (export / ".edge-tune.json").write_text("{}")
    before = _files(export)
    result = runner.invoke(app, ["bench", str(tiny_run), "--export-dir", str(export), "--formats", "onnx",
                                 "--formats", "onnx-int8", "--repeats", "3", "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    assert "lacks onnx-int8: exporting them into a temporary folder" in result.output
    assert [(c["formats"], c["out"].parent == export.parent) for c in export_calls] == [(["onnx-int8"], False)]
    assert _files(export) == before
    rows = {r["format"]: r for r in json.loads((tmp_path / "b" / "bench.json").read_text())["rows"]}
    assert rows["onnx-int8"].get("exported_for_this_bench") and "exported_for_this_bench" not in rows["onnx"]


def test_the_export_folder_is_written_only_when_empty_or_forced(tiny_run, tiny_export, tmp_path, export_calls):
    import shutil

    from edge.bench.run import _export_folders

    export = shutil.copytree(tiny_export, tmp_path / "export")
    (export / "model.int8.onnx").unlink()
    names = ["onnx", "onnx-int8"]  # the table's formats: PyTorch, bench's reference row, needs no export
    assert _export_folders(tiny_run, export, names, True, tmp_path / "tmp", print) == dict.fromkeys(names, export)
    assert export_calls[-1] == {"out": export, "formats": ["onnx", "openvino", "onnx-int8"], "force": True}
    empty = tmp_path / "empty"
    empty.mkdir()
    _export_folders(tiny_run, empty, names, False, tmp_path / "tmp", print)
    assert export_calls[-1] == {"out": empty, "formats": ["onnx", "onnx-int8"], "force": False}
    manifest = json.loads((export / "manifest.json").read_text())
    (export / "manifest.json").write_text(json.dumps({**manifest, "source_sha256": "0" * 64}))
    with pytest.raises(EdgeError, match="another checkpoint .* pass --force"):
        _export_folders(tiny_run, export, names, False, tmp_path / "tmp", print)
    assert len(export_calls) == 2


def test_latency_rounds_alternate_formats(monkeypatch):
    """Every format is timed in each round, so drift on a shared machine hits all of them alike."""
    import numpy as np

    from edge.bench import measure

    monkeypatch.setattr(measure, "SETTLE_SECONDS", 0.0)
    calls: list[str] = []
    runs = {name: (lambda x, name=name: calls.append(name)) for name in ("a", "b")}
    result = measure.interleaved_latencies(runs, np.zeros((1, 3, 4, 4), np.float32), repeats=6, rounds=3)
    assert set(result) == {"a", "b"} and all(p50 <= p90 for p50, p90 in result.values())
    blocks = [calls[i] for i in range(0, len(calls), 5)]  # per round and format: 3 warm-up + 2 timed
    assert blocks == ["a", "b"] * 3 and len(calls) == 30


def test_pipeline_ceiling_counts_preprocessing_core_time():
    from edge.bench.pipeline_rate import ceiling_ips

    # 2 cores at 500 img/s is 4 core-ms of inference per image; + 2 ms of decoding -> 6 core-ms
    assert abs(ceiling_ips(500.0, 2.0, 2) - 2000 / 6) < 1e-9
    assert ceiling_ips(500.0, 0.0, 2) == 500.0


@pytest.fixture(params=["our-onnx-as-source", pytest.param("torch.onnx.export", marks=pytest.mark.slow)])
def peer_source(request, tiny_export, monkeypatch):
    """The fast suite starts the peers from our ONNX file: torch.onnx.export (dynamo) alone took 15-28 s."""
    if request.param == "our-onnx-as-source":
        import shutil

        from edge.bench import peers

        monkeypatch.setattr(peers, "_plain_onnx", lambda model, size, path: shutil.copyfile(
            tiny_export / "model.onnx", path))
    return request.param


def test_peers_are_rows_marked_peer_with_their_floor(tiny_run, tiny_export, tmp_path, peer_source):
    out = tmp_path / "bench"
    result = runner.invoke(app, ["bench", str(tiny_run), "--export-dir", str(tiny_export), "--out", str(out),
                                 "--formats", "onnx-int8", "--repeats", "5", "--peers"])
    data = json.loads((out / "bench.json").read_text())
    peers = [r for r in data["rows"] if r.get("peer")]
    assert {r["format"] for r in peers} >= {"peer:ort-quantize_static", "peer:nncf.quantize"}, result.output
    for row in peers:
        assert row["note"] and row["precision"] in ("fp32", "bf16", "int8") and row["floor_ms"] > 0
        assert row["below_floor"] is (row["latency_ms_p50"] < row["floor_ms"])
    assert "Peers (each library's documented default path" in (out / "bench.md").read_text()
    assert sorted(p.name for p in out.iterdir()) == ["bench.json", "bench.md", "bench.png"]  # peers not kept
    assert [r["format"] for r in data["rows"] if r["below_floor"]] == []  # below its floor: the floor is wrong
    assert result.exit_code == 0, result.output


def test_a_row_below_its_floor_fails_the_command_and_keeps_the_results(tiny_run, tiny_export, tmp_path, monkeypatch):
    from edge.bench import run

    monkeypatch.setattr(run, "floor_ms", lambda info, precision, size_mb: (1e6, "compute"))  # nothing runs in 1000 s
    out = tmp_path / "bench"
    result = runner.invoke(app, ["bench", str(tiny_run), "--export-dir", str(tiny_export), "--out", str(out),
                                 "--formats", "onnx", "--repeats", "5"])
    assert result.exit_code == 1
    assert "error: pytorch, onnx measured below the floor: the floor is wrong" in result.output
    assert json.loads((out / "bench.json").read_text())["rows"][1]["below_floor"] is True


def test_floor_is_the_larger_of_compute_and_memory():
    from edge.bench.run import floor_ms

    info = {"model_gflops": 1.0, "peak_fp32_gflops": 100.0, "peak_int8_gops": 400.0, "peak_bf16_gflops": 200.0,
            "memory_gbs": 10.0}
    assert floor_ms(info, "fp32", 5.0) == (10.0, "compute")  # 1 GFLOP at 100 GFLOP/s
    assert floor_ms(info, "bf16", 5.0) == (5.0, "compute")
    assert floor_ms(info, "int8", 50.0) == (5.0, "memory")  # 50 MB at 10 GB/s beats 2.5 ms of compute



def test_runtime_rows_memory_is_measured_in_a_torch_free_process(tiny_export, tmp_path):
    """Bench's runtime rows report what edge-infer pays, not the torch process's 1.5-2 GB (issue 19.7)."""
    import numpy as np

    from edge.bench.runtime_rss import measure_in_child

    inputs = tmp_path / "x.npy"
    np.save(inputs, np.zeros((3, 3, 64, 64), np.float32))
    rss = measure_in_child(tiny_export / "model.int8.onnx", "onnxruntime", 1, inputs)
    assert rss is not None and 20 < rss < 400  # torch alone would take more than 400 MB
