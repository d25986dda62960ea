"""edge review on a run: the numbers, planted label errors near the top, the files it writes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from edge.cli.main import app
from edge.review.build import review
from tests.review.helpers import fake_run

runner = CliRunner()
pytest.importorskip("cleanlab")
pytest.importorskip("imagehash")


@pytest.fixture
def reviewed(tmp_path):
    run, planted = fake_run(tmp_path, n_per_class=8, moves=1)
    result = review(source=run, log=lambda *_: None)
    return result, planted


def test_planted_label_errors_are_the_top_suspects(reviewed):
    result, planted = reviewed
    top = [s["path"] for s in result.data["suspects"][: len(planted) + 2]]
    assert set(planted) <= set(top), (planted, top)
    first = result.data["suspects"][0]
    assert first["suggested"] != first["given"] and 0 <= first["self_confidence"] < 0.5


def test_numbers_agree_with_the_predictions(reviewed):
    result, planted = reviewed
    d = result.data
    counts = d["confusion"]["counts"]
    assert sum(map(sum, counts)) == d["photos"] == 24
    assert [len(p) for row in d["confusion"]["photos"] for p in row] == [n for row in counts for n in row]
    wrong = d["photos"] - sum(counts[i][i] for i in range(3))
    assert len(d["misclassified"]) == wrong
    confidences = [m["confidence"] for m in d["misclassified"]]
    assert confidences == sorted(confidences, reverse=True)
    for c, row in enumerate(d["per_class"]):
        tp = counts[c][c]
        assert row["precision"]["value"] == pytest.approx(tp / sum(r[c] for r in counts), abs=1e-4)
        assert row["recall"]["value"] == pytest.approx(tp / sum(counts[c]), abs=1e-4)
        for key in ("precision", "recall", "f1"):
            low, high = row[key]["ci95"]
            assert low <= row[key]["value"] <= high
    assert {o["path"] for o in d["outliers"]} == set(planted)  # their scores were set below the threshold


def test_files_and_self_contained_page(reviewed):
    result, _ = reviewed
    html = (result.out / "review.html").read_text()
    assert json.loads((result.out / "review.json").read_text())["photos"] == 24
    assert html.count("data:image/jpeg;base64,") == 24  # every thumbnail once
    assert "http://" not in html and "https://" not in html and "<script" not in html


def test_exact_copy_is_a_near_duplicate_across_classes(tmp_path):
    import shutil

    run, _ = fake_run(tmp_path, n_per_class=6, moves=0)
    data = tmp_path / "data"
    src = sorted((data / "daisy").glob("*.jpg"))[0]
    oof = json.loads((run / "oof.json").read_text())
    shutil.copy(src, data / "roses" / "copy.jpg")
    oof["photos"].append({**oof["photos"][0], "path": "roses/copy.jpg", "label": 1})
    (run / "oof.json").write_text(json.dumps(oof))
    d = review(source=run, log=lambda *_: None).data
    assert d["duplicates"][0]["across_classes"] and d["duplicates"][0]["distance"] == 0
    assert {d["duplicates"][0]["a"], d["duplicates"][0]["b"]} == {f"daisy/{src.name}", "roses/copy.jpg"}


def test_cli_review_and_clean_errors(tmp_path):
    run, _ = fake_run(tmp_path, n_per_class=6)
    result = runner.invoke(app, ["review", str(run), "--out", str(tmp_path / "rv")])
    assert result.exit_code == 0, result.output
    assert "suspected label error" in result.output and (tmp_path / "rv" / "review.html").is_file()
    (run / "oof.json").unlink()
    result = runner.invoke(app, ["review", str(run)])
    assert result.exit_code == 1 and "no oof.json" in result.output
    result = runner.invoke(app, ["review", str(tmp_path / "data")])
    assert result.exit_code == 1 and "--data" in result.output
