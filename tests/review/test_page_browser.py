"""review.html in headless Chromium: every figure on the page equals review.json; cells open their photos."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.review.build import review
from tests.review.helpers import fake_run

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytest.importorskip("cleanlab")
pytest.importorskip("imagehash")


@pytest.fixture
def page(tmp_path):
    if not CHROMIUM.is_file():
        pytest.skip("no /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    run, _ = fake_run(tmp_path, n_per_class=8, moves=1)
    result = review(source=run, log=lambda *_: None)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            pg = browser.new_page(viewport={"width": 1200, "height": 900})
            pg.goto((result.out / "review.html").as_uri())
            yield pg, json.loads((result.out / "review.json").read_text())
        finally:
            browser.close()


def lookup(data, key: str):
    for part in key.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def shown(value, fmt: str) -> str:
    return f"{100 * value:.1f}%" if fmt == "pct" else f"{value:.3f}" if fmt == "f3" else str(value)


def test_every_figure_on_the_page_is_the_json_figure(page):
    pg, data = page
    figures = pg.eval_on_selector_all("[data-key]", "els => els.map(e => [e.dataset.key, e.dataset.fmt, e.innerText])")
    assert len(figures) > 50
    for key, fmt, text in figures:
        assert text == shown(lookup(data, key), fmt), key
    keys = {k for k, _, _ in figures}
    assert {"accuracy.value", "per_class.0.f1.ci95.1", "confusion.counts.2.2", "suspects.0.self_confidence"} <= keys


def test_a_confusion_cell_opens_its_photos(page):
    pg, data = page
    i, j = next((i, j) for i, row in enumerate(data["confusion"]["counts"]) for j, n in enumerate(row) if n and i != j)
    assert not pg.is_visible(f"#cell-{i}-{j}")
    pg.click(f'a[href="#cell-{i}-{j}"]')
    assert pg.is_visible(f"#cell-{i}-{j}")
    titles = pg.eval_on_selector_all(f"#cell-{i}-{j} .th", "els => els.map(e => e.title)")
    assert titles == [data["shown"][k] for k in data["confusion"]["photos"][i][j]]
    width = pg.eval_on_selector(f"#cell-{i}-{j} .th", "e => getComputedStyle(e).backgroundImage")
    assert width.startswith('url("data:image/jpeg;base64,')  # the thumbnail is inlined, not fetched
