"""Several sources on the live page, in headless Chromium: a tile each (its own stream, label and fps), and
the tile clicked fills the Now panel. Skips without chromium or playwright, as test_page_browser does."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.serve.test_page_browser import CHROMIUM, make_video, open_page, wait_until

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason="chromium not installed (apt-get install chromium)"),
]


def test_a_tile_per_source_and_the_clicked_one_in_the_now_panel(clf, tmp_path):
    from edge.runtime.multi_source import several_loop
    from edge.runtime.options import InferOptions
    from edge.runtime.timing import Summary
    from tests.serve.conftest import running_service

    a, b = make_video(tmp_path / "a.mp4"), make_video(tmp_path / "b.mp4", per_photo=3)
    opts = InferOptions(artifact=clf.path, sources=[f"door={a}", f"porch={b}"], serve="0", loop=True, max_frames=600)
    loop = several_loop(clf, opts, Summary(), lambda p: None)
    with running_service(clf, loop, sources=("door", "porch")) as service:
        pw, browser, page = open_page(service.url, "#tiles .tile")
        try:
            tiles = page.locator("#tiles .tile")
            assert tiles.count() == 2 and not page.locator("#live").is_visible()
            for i in range(2):
                wait_until(lambda i=i: tiles.nth(i).locator(".lab").inner_text() != "–")
                wait_until(lambda i=i: tiles.nth(i).locator(".tfps").inner_text().endswith(" fps"))
                wait_until(lambda i=i: (tiles.nth(i).locator("img").bounding_box() or {}).get("height", 0) > 50)
            assert page.locator("#nowsrc").text_content() == "· door" and "sel" in tiles.nth(0).get_attribute("class")
            tiles.nth(1).click()
            wait_until(lambda: page.locator("#nowsrc").text_content() == "· porch")
            assert "sel" in tiles.nth(1).get_attribute("class") and "sel" not in tiles.nth(0).get_attribute("class")
            wait_until(lambda: page.inner_text("#label") != "–" and page.inner_text("#fps") not in ("–", "0.0"))
            fps = [float(tiles.nth(i).locator(".tfps").inner_text().split()[0]) for i in range(2)]
            assert all(f > 1 for f in fps), fps  # each source's own rate (12 fps videos, played at their rate)
            page.screenshot(path=str(tmp_path / "tiles.png"), full_page=True)
        finally:
            browser.close()
            pw.stop()
    assert (tmp_path / "tiles.png").stat().st_size > 10_000
