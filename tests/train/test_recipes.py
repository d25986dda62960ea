"""Issue 24: multi-backbone models, the paired comparison, the cost budget (tiny random-init models)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edge.errors import EdgeError
from edge.train import paired, recipes
from edge.train.config import TrainConfig
from edge.train.models import build_model
from edge.train.zoo import get_entry

PAIR = "mobilenet_v3_small+efficientnet_lite1"  # two widths and two sizes (224, 240): a resize in the graph


def test_combined_entry_takes_the_widest_preprocessing():
    entry = get_entry("efficientnet_lite0+efficientnet_lite1")
    assert entry.family == "multi" and entry.head_path == "classifier"
    assert entry.preprocessing == get_entry("efficientnet_lite1").preprocessing
    for bad in ("efficientnet_lite0+efficientnet_lite0", "efficientnet_lite0+nope"):
        with pytest.raises(EdgeError):
            get_entry(bad)


def test_multi_backbone_concatenates_resizes_and_round_trips():
    torch.manual_seed(0)
    model = build_model(get_entry(PAIR), 3, pretrained=False).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        logits = model(x)  # the first input sets the branch sizes: 64 for Lite1, round(64 * 224 / 240) for the other
        feats = model.features(x)
    assert model.sizes.tolist() == [64, 60, 64] and logits.shape == (2, 3)
    assert feats.shape[1] == sum(model.dims) == model.classifier[-1].in_features
    rebuilt = build_model(get_entry(PAIR), 3, pretrained=False).eval()
    rebuilt.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert torch.equal(rebuilt(x), logits)
    assert rebuilt.fixed and [b.size for b in rebuilt.branches] == [60, 64]


def test_branch_renormalises_between_mean_std_conventions():
    from edge.train.multi_backbone import affine

    lite, mobile = get_entry("efficientnet_lite0").preprocessing, get_entry("mobilenet_v3_small").preprocessing
    scale, shift = affine(lite, mobile)
    raw = torch.rand(3)
    given = (raw - torch.tensor(lite.mean)) / torch.tensor(lite.std)
    wanted = (raw - torch.tensor(mobile.mean)) / torch.tensor(mobile.std)
    assert torch.allclose(given * torch.tensor(scale) + torch.tensor(shift), wanted, atol=1e-6)
    assert affine(lite, lite) is None


def test_corrected_interval_is_wider_than_the_naive_one():
    diffs = np.array([0.02, 0.01, 0.03, 0.0, 0.02, 0.01, 0.02, 0.03, 0.01, 0.02])
    mean, low, high = paired.corrected_interval(diffs, test_share=0.25)
    naive = 2.262 * diffs.std(ddof=1) / np.sqrt(len(diffs))
    assert mean == pytest.approx(0.017)
    assert (high - low) / 2 == pytest.approx(2.262 * np.sqrt((1 / 10 + 0.25) * diffs.var(ddof=1)), rel=1e-3)
    assert (high - low) / 2 > 1.8 * naive


def test_decide_needs_the_interval_above_zero_and_the_budget():
    rows = {"a": {"gain": 0.0, "gain_ci95": [0, 0]}, "b": {"gain": 0.02, "gain_ci95": [0.005, 0.035]},
            "c": {"gain": 0.03, "gain_ci95": [-0.01, 0.07]}, "d": {"gain": 0.04, "gain_ci95": [0.01, 0.07]}}
    costs = {"a": 1.0, "b": 2.6, "c": 1.6, "d": 4.8}
    assert paired.decide(rows, costs, 3.0, "a")[0] == "b"
    assert paired.decide(rows, costs, 5.0, "a")[0] == "d"
    assert paired.decide(rows, costs, 2.0, "a")[0] == "a"  # c fits but its interval crosses zero


def test_budget_defaults_to_todays_behaviour_and_reads_device_profiles():
    assert not recipes.searching(TrainConfig())
    assert recipes.searching(TrainConfig(max_cost=3))
    assert recipes.budget(TrainConfig(target_device="x86-laptop")) == 3.0
    assert not recipes.searching(TrainConfig(target_device="raspberry-pi-4"))
    with pytest.raises(EdgeError):
        recipes.budget(TrainConfig(target_device="x86-laptop", max_cost=2))
    with pytest.raises(EdgeError):
        TrainConfig(max_cost=0.5).validate()
    with pytest.raises(EdgeError, match="--strategy finetune trains --model alone"):
        TrainConfig(data="d", out="o", max_cost=3, strategy="finetune").validate()


def test_costs_count_every_branch_at_its_size():
    cfg = TrainConfig()
    assert recipes.cost("efficientnet_lite0", cfg) == 1.0
    pair = recipes.cost("efficientnet_lite0+efficientnet_lite1", cfg)
    assert pair == pytest.approx(recipes.cost("efficientnet_lite1", cfg) + 1.0)
    assert 2.4 < pair < 2.8


@pytest.fixture(scope="module")
def recipe_run(tmp_path_factory):
    """--max-cost 3 on 18 photos: --model against a two-backbone recipe, features cached in a tmp folder."""
    from edge.train import recipe_head
    from edge.train.run import train
    from tests.conftest import make_dataset

    root = tmp_path_factory.mktemp("recipes")
    lines: list[str] = []
    cfg = TrainConfig(data=str(make_dataset(root / "data", 6)), out=str(root / "run"), model="mobilenet_v3_small",
                      pretrained=False, image_size=64, batch_size=8, max_cost=3, recipes=PAIR, cv_folds=2)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(root / "cache"))
        mp.setattr(recipe_head, "REPEATS", 1)  # one 2-fold partition: the code path, not the figure
        result = train(cfg, log=lambda line: lines.append(str(line)))
    return root, result, lines


def test_recipe_run_prints_the_menu_and_an_estimate_with_the_choice_inside(recipe_run):
    root, result, lines = recipe_run
    m = result.metrics
    assert [row["recipe"] for row in m["recipe_menu"]] == ["mobilenet_v3_small", PAIR]
    assert m["recipe"] in (row["recipe"] for row in m["recipe_menu"]) and m["model"] == m["recipe"]
    assert len(m["estimate_fold_recipes"]) == 2 and "recipe chosen inside each fold" in m["estimate_method"]
    assert any(line.startswith("recipe: ") for line in lines) and any("gain vs" in line for line in lines)
    assert list((root / "cache" / "edge" / "features").glob("*.pt"))  # per-branch features kept


def test_recipe_run_checkpoint_rebuilds_the_fitted_model(recipe_run):
    from edge.train import api

    root, result, _ = recipe_run
    run = api.load_run(root / "run")
    assert run.manifest.arch == result.metrics["recipe"]
    x = torch.randn(2, *run.manifest.input_size)
    with torch.no_grad():
        logits, score = run.model(x)
    assert logits.shape == (2, 3) and score.shape == (2,)


@pytest.mark.slow  # ~60 s: two backbones through every exporter, INT8 searches included
def test_multi_backbone_run_exports_as_one_graph_in_every_format(tmp_path, tiny_data, monkeypatch):
    """--model a+b alone (features cached): one ONNX graph with the resize inside, FP32 and INT8 checked."""
    import onnx

    from edge.export.pipeline import export
    from edge.train.run import train

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    cfg = TrainConfig(data=str(tiny_data), out=str(tmp_path / "run"), model=PAIR, pretrained=False, image_size=64,
                      batch_size=8, cv_folds=2)
    result = train(cfg, log=lambda *_: None)
    assert result.metrics["model"] == PAIR and result.metrics["estimate_method"] == "nested 2-fold CV"
    report = export(source=str(tmp_path / "run"), out=tmp_path / "export", formats=["onnx", "onnx-int8", "openvino"],
                    calibration_size=9, log=lambda *_: None)
    rows = {row.name: row for row in report.formats}
    assert rows["onnx"].top1_agreement == 1.0 and rows["openvino"].top1_agreement == 1.0
    assert rows["onnx"].max_abs_logit_diff < 1e-3 and "onnx-int8" in rows
    graph = onnx.load(str(tmp_path / "export" / "model.onnx")).graph
    assert [o.name for o in graph.output] == ["logits", "unknown_score"]
    assert any(node.op_type == "Resize" for node in graph.node)  # the 60 px branch resizes inside the graph
