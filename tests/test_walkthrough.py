"""The README walked as a new user (issue 19): each numbered break has a test that failed before."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from edge.cli.infer import app as infer_app
from edge.cli.main import app
from edge.errors import EdgeError
from tests.conftest import BLOCK_TORCH

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def _runtime_only(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """edge-infer / edge as a Pi runs them: no torch and no OpenVINO importable."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(BLOCK_TORCH), str(ROOT)]), "EDGE_TEST_BLOCK": "openvino"}
    code = "import sys; from edge.cli.main import main; sys.argv[0] = 'edge'; main()"
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, cwd=cwd)


def test_1_an_export_folder_runs_without_openvino(tiny_export, tiny_data, tmp_path):
    export = shutil.copytree(tiny_export, tmp_path / "export")
    assert (export / "openvino" / "model.xml").is_file()  # the folder holds an artifact the Pi cannot run
    photo = str(next((tiny_data / "daisy").iterdir()))
    tuned = _runtime_only("devices", "tune", str(export), "--seconds", "0.05", cwd=tmp_path)
    assert tuned.returncode == 0, tuned.stderr
    assert "skipped openvino" in tuned.stdout and "edge-classifier[openvino]" in tuned.stdout
    result = _runtime_only("infer", str(export), photo, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "daisy" in result.stdout or "roses" in result.stdout or "tulips" in result.stdout
    assert result.stderr.count("skipped openvino") == 1  # said once, with the reason


def test_3_picamera_error_gives_a_sequence_that_works(monkeypatch):
    from edge.devices.profiles import get_profile
    from edge.runtime import sources

    monkeypatch.setitem(sys.modules, "picamera2", None)  # import fails as in a venv without system packages
    with pytest.raises(EdgeError) as err:
        next(sources.picamera_frames(1))
    assert "--system-site-packages" in str(err.value) and "python3-picamera2" in str(err.value)
    for pi in ("raspberry-pi-4", "raspberry-pi-5"):  # `edge devices show` says the same
        install = get_profile(pi).install
        assert "python3-picamera2" in install and "--system-site-packages" in install and "make wheel" in install


def _examples(command) -> list[list[str]]:
    text = command.callback.__doc__ or ""
    lines = [line.strip().split("  #")[0] for line in text.splitlines() if line.strip().startswith(("edge ", "edge-infer "))]
    return [shlex.split(line) for line in lines]


def _leaf_commands(group, prefix=()):
    for name, command in group.commands.items():
        if hasattr(command, "commands"):  # a sub-app (edge devices ...)
            yield from _leaf_commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


def test_4_every_help_shows_an_example_that_parses():
    """Each command's --help shows its docstring's examples, and each example parses with the real options."""
    group = typer.main.get_command(app)
    names = []
    for path, command in _leaf_commands(group):
        names.append(" ".join(path))
        help_text = runner.invoke(app, [*path, "--help"], terminal_width=200).output
        examples = _examples(command)
        assert examples and "Example" in help_text, f"edge {' '.join(path)} --help shows no example"
        for words in examples:
            args = words[1 + len(path):] if words[0] == "edge" else words[1:]
            command.make_context(words[0], list(args))  # raises on an unknown option or a missing argument
    assert "devices tune" in names and {"train", "export", "bench", "classify", "infer"} <= set(names)
    assert "tune" in runner.invoke(app, ["--help"], terminal_width=200).output
    assert "tune" in runner.invoke(app, ["devices", "--help"], terminal_width=200).output
    assert "Examples" in runner.invoke(infer_app, ["--help"], terminal_width=200).output


def test_5_a_picture_that_fails_is_a_warning_and_the_cv_plot_takes_fold_means(tmp_path):
    from edge.train.report import draw_pictures, plot_cv

    # 2-fold means on 7 photos: 0.6428 is no whole count of 7, which made a negative error bar before.
    scores = {"l2=0.0001": 0.6428, "l2=0.001": 0.7143, "l2=0.01": 0.5}
    estimate = {"estimated_accuracy": 0.5714, "estimated_accuracy_ci95": [0.25, 0.84], "estimate_method": "nested 2-fold CV"}
    plot_cv(scores, "l2=0.001", 7, estimate, tmp_path / "cv.png")
    assert (tmp_path / "cv.png").stat().st_size > 0
    warnings = []
    draw_pictures({"broken.png": lambda: 1 / 0, "cv2.png": lambda: plot_cv(scores, "l2=0.001", 7, estimate,
                                                                           tmp_path / "cv2.png")}, warnings.append)
    assert len(warnings) == 1 and "broken.png not drawn" in warnings[0] and (tmp_path / "cv2.png").is_file()


def test_8_auto_says_only_what_it_measured():
    from edge.train.strategy import choose_plan

    reason = choose_plan("auto", 30).reason
    assert "scored lower" not in reason and "not tried" in reason


def test_10_keep_outside_the_measured_table_is_refused():
    from edge.manifest import UnknownSpec
    from edge.runtime.classifier import threshold_for

    unknown = UnknownSpec(score="cosine_to_class_mean", keep=0.95, threshold=0.36,
                          thresholds={"0.9": 0.41, "0.95": 0.36, "0.99": 0.29})
    assert threshold_for(unknown, 0.97) == pytest.approx(0.36 + (0.29 - 0.36) * 0.5)
    for keep in (0.5, 0.999, 1.5):
        with pytest.raises(EdgeError, match="0.9 to 0.99"):
            threshold_for(unknown, keep)


@pytest.mark.parametrize("args, message", [
    (["--top-k", "0"], "--top-k 0: pass 1 or more"),
    (["--backend", "tensorrt"], "--backend tensorrt: not a backend here"),
    (["--save", "out.jpg"], "--save annotates video and camera frames"),
])
def test_11_refused_before_any_work(tiny_export, tiny_data, tmp_path, args, message):
    photo = str(next((tiny_data / "daisy").iterdir()))
    os.chdir(tmp_path)
    result = runner.invoke(infer_app, [str(tiny_export / "model.onnx"), photo, *args])
    assert result.exit_code == 1 and message in result.output
    assert not (tmp_path / "out.jpg").exists() and photo not in result.stdout


def test_11_stdin_errors_name_stdin_and_names_get_a_suggestion(tiny_export, tmp_path):
    from edge.train.config import load_config
    from edge.train.zoo import get_entry

    result = runner.invoke(infer_app, [str(tiny_export / "model.onnx"), "-"], input=b"not an image")
    assert result.exit_code == 1 and "stdin: not a readable image" in result.output and "<bytes>" not in result.output
    with pytest.raises(EdgeError, match="did you mean efficientnet_lite0"):
        get_entry("efficentnet_lite0")
    (tmp_path / "c.toml").write_text("epoch = 3\n")
    with pytest.raises(EdgeError, match="did you mean epochs"):
        load_config(tmp_path / "c.toml", {})
    classify_help = runner.invoke(app, ["classify", "--help"]).output
    assert "--no-pretrained" not in classify_help


def test_12_unreadable_zoo_photos_are_skipped_and_checks_never_calibrate(tmp_path):
    from edge.export.data import readable_images, split_check_calibration
    from tests.conftest import make_dataset

    data = make_dataset(tmp_path / "photos", 4)
    (data / "daisy" / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    said = []
    paths = readable_images(data, said.append)
    assert len(paths) == 12 and len(said) == 1 and "broken.jpg" in said[0]
    check, calibration = split_check_calibration(paths, calibration_size=5, check_size=100)
    assert len(calibration) == 5 and not set(check) & set(calibration) and len(check) == 7


def test_12_resume_on_a_finished_run_is_refused(tmp_path):
    from edge.train.session import resolve_resume_config

    (tmp_path / "config.json").write_text('{"data": "photos"}')
    (tmp_path / "metrics.json").write_text("{}")
    with pytest.raises(EdgeError, match="this run finished"):
        resolve_resume_config(tmp_path)


def test_13_summary_counts_unknown_answers_and_says_thread():
    from edge.runtime.autotune import plural
    from edge.runtime.classifier import Prediction
    from edge.runtime.timing import Summary

    summary = Summary()
    summary.count(Prediction("a", [("x", 0.9)], unknown=True))
    summary.count(Prediction("b", [("x", 0.9)]))
    assert "2 classified, 1 of them unknown" in summary.line() and summary.to_dict()["unknown"] == 1
    assert plural(1, "thread") == "1 thread" and plural(2, "thread") == "2 threads"


def test_every_command_is_a_few_lines():
    """Commands parse options into a dataclass and call one library function (issue 20: at most 30 lines)."""
    import inspect

    for path, command in _leaf_commands(typer.main.get_command(app)):
        body = inspect.unwrap(command.callback)  # through clean_errors and edge.cli_options.command to the body
        lines = len(inspect.getsourcelines(body)[0])
        assert lines <= 30, f"edge {' '.join(path)}: {body.__qualname__} has {lines} lines"


def test_6_tables_say_agreement_not_accuracy_on_photos_the_head_was_trained_on():
    from edge.bench.report import columns, markdown, quality

    result = {"images": 120, "photos_held_out": False, "run": "r", "created": "now", "accuracy_photos_note": "x",
              "machine": {"cpu": "c", "arch": "x86_64", "cores": 2, "threads": 2, "isa": [], "model_gflops": 1,
                          "peak_fp32_gflops": 1, "peak_int8_gops": 1, "memory_gbs": 1},
              "rows": [{"format": "onnx", "accuracy": 1.0, "top1_agreement": 1.0}]}
    assert "accuracy" not in columns(result) and quality(result)[0] == "top1_agreement"
    assert "| accuracy |" not in markdown(result) and "trained on" in quality(result)[1]
    held_out = {**result, "photos_held_out": True}
    assert "accuracy" in columns(held_out) and quality(held_out) == ("accuracy", "accuracy on 120 held-out photos")


def test_13_with_nothing_to_calibrate_every_photo_checks(tiny_run):
    from edge.export.pipeline import load_run_source

    every = load_run_source(tiny_run, None, calibration_size=0)
    some = load_run_source(tiny_run, None, calibration_size=6)
    assert not every.calibration_paths and len(every.check_paths) == len(some.check_paths) + 6
