"""Zoo registry, head swap for every family, strategies and the auto choice."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from edge.errors import EdgeError
from edge.preprocessing import NEW_RUN_DECODE, Preprocessing
from edge.train.models import build_model, get_submodule
from edge.train.strategy import choose_plan, freeze_backbone, unfreeze_all
from edge.train.zoo import MODELS, ModelEntry, get_entry, register_model

SMALL = ["efficientnet_lite0", "mobilenet_v3_small", "mobilenet_v3_large", "mobilenet_v2", "efficientnet_b0",
         "resnet18"]
LARGE = ["efficientnet_b4", "resnet50", "vit_b_16"]


def test_registry_has_the_promised_models_and_refuses_duplicates():
    assert set(SMALL + LARGE) <= set(MODELS)
    with pytest.raises(ValueError, match="already registered"):
        register_model(MODELS["resnet18"])
    with pytest.raises(EdgeError, match="unknown model 'nope'"):
        get_entry("nope")


@pytest.mark.parametrize("name", SMALL + LARGE)
def test_head_swap_gives_dropout_linear_with_new_classes(name):
    entry = get_entry(name)
    model = build_model(entry, num_classes=7, pretrained=False, dropout=0.3)
    head = get_submodule(model, entry.head_path)
    assert isinstance(head, nn.Sequential) and isinstance(head[0], nn.Dropout) and head[0].p == 0.3
    assert isinstance(head[1], nn.Linear) and head[1].out_features == 7


@pytest.mark.parametrize("name", SMALL)
def test_swapped_model_runs_at_its_zoo_size(name):
    entry = get_entry(name)
    model = build_model(entry, num_classes=3, pretrained=False).eval()
    size = entry.preprocessing.crop_size
    with torch.no_grad():
        assert model(torch.zeros(1, 3, size, size)).shape == (1, 3)


def _library_preprocessing(entry: ModelEntry) -> Preprocessing:
    """What the weights' own library says they were trained with: timm's pretrained_cfg, torchvision's transforms.
    The decode is edge's own (no library has one): every zoo entry, so every new run, drafts."""
    if entry.family == "timm":
        import timm

        cfg = timm.get_pretrained_cfg(entry.builder_name)
        crop = cfg.input_size[-1]
        assert cfg.crop_mode == "center"
        # timm's transforms_factory: scale_size = floor(img_size / crop_pct)
        return Preprocessing(math.floor(crop / cfg.crop_pct), crop, cfg.interpolation, tuple(cfg.mean), tuple(cfg.std),
                             NEW_RUN_DECODE)
    from torchvision.models import get_model_weights

    t = get_model_weights(entry.builder_name).DEFAULT.transforms()
    return Preprocessing(t.resize_size[0], t.crop_size[0], t.interpolation.value, tuple(t.mean), tuple(t.std),
                         NEW_RUN_DECODE)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_zoo_preprocessing_is_what_the_weights_library_says(name):
    entry = get_entry(name)
    assert entry.preprocessing == _library_preprocessing(entry)


def test_preprocessing_keeps_its_ratio_at_another_size():
    lite0 = get_entry("efficientnet_lite0").preprocessing
    assert lite0.at_size(112) == Preprocessing(128, 112, "bicubic", (0.5,) * 3, (0.5,) * 3, NEW_RUN_DECODE)


def test_freeze_backbone_leaves_only_the_head():
    entry = get_entry("resnet18")
    model = build_model(entry, 4, pretrained=False)
    line = freeze_backbone(model, entry)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable == ["fc.1.weight", "fc.1.bias"]
    assert line.startswith("Trainable: 2,052 / ")
    assert unfreeze_all(model).endswith("(100.00%)")


@pytest.mark.parametrize("n,expected", [(50, (True, False)), (999, (True, False)), (1000, (False, True)),
                                        (50_000, (False, True))])
def test_auto_follows_dataset_size(n, expected):
    plan = choose_plan("auto", n)
    assert (plan.head_phase, plan.finetune_phase) == expected
    assert str(n) in plan.reason


def test_explicit_strategies():
    assert choose_plan("feature-extract", 5000).finetune_phase is False
    assert choose_plan("finetune", 10).head_phase is False


def test_missing_download_names_weights_flag(monkeypatch):
    from torchvision.models import get_model_weights

    from edge.train.models import build_imagenet_model

    weights = type(get_model_weights("resnet18").DEFAULT)

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(weights, "get_state_dict", offline)
    with pytest.raises(EdgeError, match="--weights"):
        build_imagenet_model(get_entry("resnet18"), pretrained=True, weights=None)


def test_local_weights_file_loads_and_bad_file_is_clear(tmp_path):
    from edge.train.models import build_imagenet_model

    entry = get_entry("resnet18")
    source = build_imagenet_model(entry, pretrained=False, weights=None)
    torch.save(source.state_dict(), tmp_path / "w.pt")
    loaded = build_imagenet_model(entry, pretrained=True, weights=tmp_path / "w.pt")
    assert torch.equal(loaded.fc.weight, source.fc.weight)
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    with pytest.raises(EdgeError, match="bad.pt"):
        build_imagenet_model(entry, pretrained=True, weights=tmp_path / "bad.pt")


def test_lite0_pretrained_weights_map_onto_timm():
    entry: ModelEntry = get_entry("efficientnet_lite0")
    model = build_model(entry, 5, pretrained=True)
    # a pretrained BN has non-default statistics; random init would be zeros/ones
    assert model.bn1.running_mean.abs().sum() > 0
