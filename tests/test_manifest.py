"""Schema test for the manifest: required keys, types, versions, and a JSON round trip."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest

from edge.errors import EdgeError
from edge.manifest import SCHEMA_VERSION, Manifest
from edge.preprocessing import Preprocessing

REQUIRED = {"schema_version", "arch", "labels", "input_size", "resize_size", "crop_size", "interpolation", "mean",
            "std", "channel_order", "layout", "precision", "metrics", "created_by", "source_sha256"}
# newer fields: written always, read with a default when absent
OPTIONAL = {"temperature", "unknown", "decode", "frame_preprocess"}


def sample() -> Manifest:
    return Manifest(SCHEMA_VERSION, "efficientnet_lite0", ("daisy", "roses"), (3, 224, 224),
                    Preprocessing(256, 224, "bicubic", (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)), "RGB", "NCHW", "fp32",
                    {"val_accuracy": 0.9}, {"edge": "0.1.0"}, "ab" * 32)


def test_fields_are_the_documented_contract():
    """The JSON keeps preprocessing's fields flat at the top level, as every manifest before the type wrote them."""
    nested = {f.name for f in fields(Manifest)} - {"preprocessing"} | {f.name for f in fields(Preprocessing)}
    assert nested == REQUIRED | OPTIONAL


def test_json_keeps_its_keys_in_their_order():
    """Artifacts embed this text: a reordering or a renamed key is a new format, not a refactor."""
    assert list(sample().to_dict()) == [
        "schema_version", "arch", "labels", "input_size", "resize_size", "crop_size", "interpolation", "mean", "std",
        "channel_order", "layout", "precision", "metrics", "created_by", "source_sha256", "temperature", "unknown",
        "decode", "frame_preprocess"]


def test_round_trip_is_lossless():
    m = sample()
    again = Manifest.from_json(m.to_json())
    assert again == m
    assert isinstance(again.labels, tuple) and isinstance(again.preprocessing.mean, tuple)
    assert again.num_classes == 2


def test_json_uses_plain_types():
    data = json.loads(sample().to_json())
    assert data["labels"] == ["daisy", "roses"] and data["input_size"] == [3, 224, 224]
    assert set(data) == REQUIRED | OPTIONAL


@pytest.mark.parametrize("version", [0, 2, "1", None])
def test_unknown_schema_version_is_refused(version):
    data = sample().to_dict() | {"schema_version": version}
    with pytest.raises(EdgeError, match="schema_version"):
        Manifest.from_dict(data)


@pytest.mark.parametrize("name", ["arch", "labels", "mean", "std", "resize_size", "crop_size", "interpolation"])
def test_missing_required_field_names_it(name):
    data = sample().to_dict()
    del data[name]
    with pytest.raises(EdgeError, match=f"'{name}' is missing"):
        Manifest.from_dict(data)


@pytest.mark.parametrize("name,value", [("labels", "daisy"), ("mean", [0.5, 0.5]), ("mean", ["a", "b", "c"]),
                                        ("resize_size", 256.0), ("arch", 3), ("metrics", []), ("crop_size", True)])
def test_wrong_type_names_the_field(name, value):
    data = sample().to_dict() | {name: value}
    with pytest.raises(EdgeError, match=f"'{name}'"):
        Manifest.from_dict(data)


@pytest.mark.parametrize("name,value", [("interpolation", "lanczos"), ("channel_order", "RGBA"), ("layout", "CHW"),
                                        ("precision", "int4"), ("labels", []), ("crop_size", 300), ("decode", "jpeg"),
                                        ("frame_preprocess", "fast"),
                                        ("std", [0.5, 0.0, 0.5])])
def test_invalid_values_are_refused(name, value):
    data = sample().to_dict() | {name: value}
    with pytest.raises(EdgeError, match=name):
        Manifest.from_dict(data)


@pytest.mark.parametrize("name", ["metrics", "created_by", "source_sha256", "precision"])
def test_every_field_is_required_in_json(name):
    data = sample().to_dict()
    del data[name]
    with pytest.raises(EdgeError, match=f"'{name}' is missing"):
        Manifest.from_dict(data)


def test_bad_json_is_an_edge_error():
    with pytest.raises(EdgeError, match="not valid JSON"):
        Manifest.from_json("{nope", "x/manifest.json")


def test_manifest_without_temperature_loads_and_behaves_as_before(tmp_path):
    import json

    from edge.manifest import Manifest

    data = json.loads(sample().to_json())
    del data["temperature"]  # written before the field existed
    old = Manifest.from_json(json.dumps(data))
    assert old.temperature == 1.0
    hot = Manifest.from_json(json.dumps({**data, "temperature": 2}))
    assert hot.temperature == 2.0 and isinstance(hot.temperature, float)


def test_preprocessing_changes_go_through_with_preprocessing():
    m = sample()
    changed = m.with_preprocessing(decode="draft", frame_preprocess="live")
    assert changed.preprocessing.decode == "draft" and changed.to_dict()["frame_preprocess"] == "live"
    assert changed.labels == m.labels and m.preprocessing.decode == "full"
    with pytest.raises(TypeError, match="decode: a preprocessing field; use Manifest.with_preprocessing"):
        m.with_updates(decode="draft")
