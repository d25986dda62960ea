"""edge devices tune: the fastest artifact here, cached by CPU, libraries and artifacts."""

from __future__ import annotations

import shutil
import time

import pytest
from typer.testing import CliRunner

from edge.cli.main import app
from edge.devices import tune
from edge.export_dir import ExportDir

runner = CliRunner()


@pytest.fixture
def export_copy(tiny_export, tmp_path):
    return shutil.copytree(tiny_export, tmp_path / "export")


def test_tune_picks_a_usable_artifact_and_caches_it(export_copy):
    choice = tune.tune(export_copy, seconds=0.05, max_threads=2)
    assert choice.format in {"onnx", "onnx-int8", "openvino"} and choice.threads in (1, 2) and choice.tried == 6
    assert (export_copy / choice.artifact).is_file() and ExportDir(export_copy).tune_cache_path.is_file()
    start = time.perf_counter()
    result = runner.invoke(app, ["devices", "tune", str(export_copy)])
    assert result.exit_code == 0 and "cached" in result.output and time.perf_counter() - start < 1.0
    assert tune.cached(export_copy) == choice


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

    choice = tune.tune(export_copy, seconds=0.05, max_threads=1)
    result = runner.invoke(infer_app, [str(export_copy), str(tiny_data / "daisy")])
    assert result.exit_code == 0, result.output
    assert f"model: {export_copy / choice.artifact}" in result.output and "tuned:" in result.output
