"""edge devices tune: the fastest artifact here, cached by CPU, libraries and artifacts."""

from __future__ import annotations

import json
import shutil
import time

import pytest
from typer.testing import CliRunner

from edge.cli.main import app
from edge.export_dir import ExportDir
from edge.runtime import autotune as tune

runner = CliRunner()


@pytest.fixture
def export_copy(tiny_export, tmp_path):
    return shutil.copytree(tiny_export, tmp_path / "export")


def test_tune_picks_a_usable_artifact_and_caches_it(export_copy):
    choice = tune.tune(export_copy, seconds=0.05, max_threads=2)
    assert choice.format in {"onnx", "onnx-int8", "openvino"} and choice.threads in (1, 2) and choice.tried == 6
    assert (export_copy / choice.artifact).is_file() and ExportDir(export_copy).tune_cache_path.is_file()
    choice = _settled(export_copy)
    start = time.perf_counter()
    result = runner.invoke(app, ["devices", "tune", str(export_copy)])
    assert result.exit_code == 0 and "cached" in result.output and time.perf_counter() - start < 1.0
    assert tune.cached(export_copy) == choice


def _settled(export_dir):
    """The cached choice marked settled (a near-tie on this busy machine would make the next run re-time)."""
    import dataclasses
    import json

    choice = dataclasses.replace(tune.cached(export_dir), margin=0.5)
    tune.cache_path(export_dir).write_text(json.dumps(dataclasses.asdict(choice)))
    return choice


@pytest.mark.parametrize("change", ["new artifact", "cpu model", "library upgrade"])
def test_cache_is_invalidated(export_copy, monkeypatch, change):
    tune.tune(export_copy, seconds=0.05, max_threads=1)
    assert tune.cached(export_copy) is not None
    if change == "new artifact":
        (export_copy / "model.onnx").write_bytes((export_copy / "model.onnx").read_bytes() + b"\0")
    elif change == "cpu model":
        monkeypatch.setattr(tune, "machine_name", lambda: "Some Other CPU")
    else:
        monkeypatch.setattr(tune, "runtime_library_versions", lambda: {"onnxruntime": "99.0"})
    assert tune.cached(export_copy) is None


def test_read_only_export_caches_in_the_user_cache(export_copy, monkeypatch, tmp_path):
    monkeypatch.setattr(tune.os, "access", lambda path, mode: False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert tune.cache_path(export_copy).is_relative_to(tmp_path / "cache")


def test_edge_infer_on_a_folder_uses_the_tuned_choice(export_copy, tiny_data):
    from edge.cli.infer import app as infer_app

    tune.tune(export_copy, seconds=0.05, max_threads=1)
    choice = _settled(export_copy)
    result = runner.invoke(infer_app, [str(export_copy), str(tiny_data / "daisy")])
    assert result.exit_code == 0, result.output
    assert f"model: {export_copy / choice.artifact}" in result.output and "tuned:" in result.output


def test_edge_infer_says_it_is_tuning_before_it_starts(export_copy, tiny_data, monkeypatch):
    from edge.cli.infer import app as infer_app
    from edge.runtime import resolve

    monkeypatch.setattr(resolve, "TUNE_SECONDS", 0.02)
    result = runner.invoke(infer_app, [str(export_copy), str(tiny_data / "daisy")])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"tuning {export_copy}: timing 3 artifact(s) at ")
    assert any(line.startswith("tuned: ") for line in lines[1:])


def test_devices_tune_prints_every_candidates_p50(export_copy):
    result = runner.invoke(app, ["devices", "tune", str(export_copy), "--seconds", "0.02", "--max-threads", "2"])
    assert result.exit_code == 0, result.output
    choice = tune.cached(export_copy)
    assert len(choice.timings) == 6 and "p50 ms" in result.output
    for t in choice.timings:
        assert any(line.split()[:3] == [t.format, str(t.threads), f"{t.latency_ms:.2f}"]
                   for line in result.stdout.replace("│", " ").splitlines())


def test_a_near_tie_is_timed_again_and_a_clear_win_is_kept(export_copy, monkeypatch):
    import dataclasses

    first = tune.tune(export_copy, seconds=0.02, max_threads=2)
    assert first.margin is not None and len(first.timings) == 6  # the margin and every timing are cached
    lines: list[str] = []
    for margin, retimed in ((0.5, False), (0.01, True)):
        tied = dataclasses.replace(first, margin=margin, rounds=1)
        tune.cache_path(export_copy).write_text(json.dumps(dataclasses.asdict(tied)))
        choice, fresh = tune.cached_or_tuned(export_copy, 0.02, report=lines.append)
        assert fresh is retimed
    assert choice.rounds == 2 and lines and "again" in lines[-1]
    assert {len(t.p50_ms) for t in choice.timings} <= {1, 2} and max(len(t.p50_ms) for t in choice.timings) == 2
    worn = dataclasses.replace(first, margin=0.01, rounds=tune.MAX_ROUNDS)  # a tie after every round: keep it
    tune.cache_path(export_copy).write_text(json.dumps(dataclasses.asdict(worn)))
    assert tune.cached_or_tuned(export_copy, 0.02) == (tune.cached(export_copy), False)
