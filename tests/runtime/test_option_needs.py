"""An option whose libraries are missing fails at once, before autotune and model loading."""

from __future__ import annotations

import importlib.util

import pytest

from edge.errors import EdgeError
from edge.runtime import options
from edge.runtime.options import InferOptions


def _hide(monkeypatch, *hidden: str) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(options.importlib.util, "find_spec", lambda name, *a: None if name in hidden else real(name, *a))


@pytest.mark.parametrize(("flag", "module", "extra"), [("serve", "starlette", "serve"), ("mqtt", "paho", "mqtt")])
def test_missing_library_is_named_with_its_extra(monkeypatch, flag, module, extra):
    _hide(monkeypatch, module)
    with pytest.raises(EdgeError, match=rf"--{flag} needs .*pip install 'edge-classifier\[{extra}\]'.*\[pi\]"):
        InferOptions(artifact="m.onnx", source="clip.mp4", **{flag: "8080" if flag == "serve" else "mqtt://h"}).check()


def test_cli_checks_before_choosing_the_artifact(monkeypatch, tmp_path):
    """The README Pi block used to tune and load the model, then fail on --serve's missing extra."""
    from typer.testing import CliRunner

    from edge.cli.infer import app
    from edge.devices import choose

    _hide(monkeypatch, "uvicorn")
    monkeypatch.setattr(choose, "choose", lambda *a, **k: pytest.fail("tuned before checking --serve's libraries"))
    result = CliRunner().invoke(app, [str(tmp_path), "clip.mp4", "--serve", "8080"])
    assert result.exit_code == 1 and "--serve needs uvicorn" in result.output
