"""install-service with several SOURCEs: each kept, a file made absolute, `name=` kept in front of it."""

from __future__ import annotations

from edge.devices.infer_args import parse_infer_args


def test_several_sources_are_written_back_with_absolute_paths(tmp_path):
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "model.onnx").write_bytes(b"onnx")
    (tmp_path / "door.mp4").write_bytes(b"")
    parsed = parse_infer_args(["export", "door=door.mp4", "0", "porch=rtsp://cam/live", "--serve", "8080"], tmp_path)
    assert parsed.argv[:4] == (str(tmp_path / "export"), f"door={tmp_path / 'door.mp4'}", "0", "porch=rtsp://cam/live")
    assert parsed.options.several and parsed.options.sources == list(parsed.argv[1:4])
    single = parse_infer_args(["export", "door.mp4"], tmp_path)
    assert single.argv == (str(tmp_path / "export"), str(tmp_path / "door.mp4"))
    assert single.options.source == str(tmp_path / "door.mp4") and not single.options.several
