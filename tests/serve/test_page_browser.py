"""The live page in a real browser: Debian's headless Chromium driven by Playwright.

A short video made from flowers5 photos plays through the server at its own frame rate (as a camera
would deliver it); the page must show a label, the fps and the unknown state, and its image must change.
Skips cleanly without chromium or playwright (.ci/run installs both).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import real_photos

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[2]
SHOWN = ("#live", "#label", "#bars")  # what the screenshot must show drawn, not only hold in the DOM

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason="chromium not installed (apt-get install chromium)"),
]


def make_video(path: Path, per_photo: int = 6, size=(480, 360), fps: float = 12.0) -> Path:
    """flowers5 photos, each held for `per_photo` frames, as an mp4 (written to a tmp dir only)."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    assert writer.isOpened()
    for photos in zip(*real_photos(4, ("daisy", "roses", "tulips", "sunflowers")).values()):
        for photo in photos:
            frame = cv2.resize(cv2.imread(str(photo)), size, interpolation=cv2.INTER_AREA)
            for _ in range(per_photo):
                writer.write(frame)
    writer.release()
    return path


def paced_video_loop(clf, video: Path, seconds: float = 60.0):
    """What `edge-infer MODEL VIDEO --serve --loop` runs: the video again and again at its own frame rate
    (--realtime is on with --serve), for about `seconds` (--max-frames)."""
    from edge.runtime.sources import video_fps
    from tests.serve.conftest import video_loop

    return video_loop(clf, video, loop=True, max_frames=int(seconds * (video_fps(str(video)) or 12.0)))


def wait_until(check, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the page did not get there in time"
        time.sleep(0.1)


def check_page(url: str, shot: Path) -> dict:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install playwright)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 760})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url, wait_until="domcontentloaded", timeout=30_000)
            wait_until(lambda: page.inner_text("#fps") not in ("–", "0.0"))  # the page's own CSP forbids eval:
            wait_until(lambda: page.inner_text("#label") != "–")              # poll from here instead
            wait_until(lambda: (page.locator("#live").bounding_box() or {}).get("height", 0) > 100)
            first = page.locator("#live").screenshot()
            changed = False
            for _ in range(40):  # the video moves to another photo every 0.5 s
                time.sleep(0.25)
                if page.locator("#live").screenshot() != first:
                    changed = True
                    break
            found = {
                "label": page.inner_text("#label"),
                "fps": float(page.inner_text("#fps")),
                "state": page.inner_text("#state"),
                "bars": page.locator("#bars .row").count(),
                "runs": page.inner_text("#runs"),
                "image_changed": changed,
                "errors": errors,
            }
            page.wait_for_timeout(300)
            found["boxes"] = {sel: page.locator(sel).bounding_box() for sel in SHOWN}  # page pixels: scrolled to 0
            page.screenshot(path=str(shot), full_page=True)
            page.set_viewport_size({"width": 390, "height": 844})  # a phone: one column, nothing wider
            page.wait_for_timeout(500)
            found["phone_width"] = page.locator("main").bounding_box()["width"]
            found["phone_image_width"] = page.locator("#live").bounding_box()["width"]
            page.screenshot(path=str(shot.with_name(shot.stem + "-phone.png")), full_page=True)
        finally:
            browser.close()
    return found


def assert_live(found: dict, labels: list[str]) -> None:
    assert not found["errors"], found["errors"]
    assert found["label"] in [*labels, "unknown"], found
    assert found["fps"] > 1 and found["bars"] == 3, found
    assert found["state"], found  # the unknown state: known / unknown / off for this model
    assert "onnxruntime" in found["runs"], found
    assert found["image_changed"], "the live image did not change"
    assert found["phone_width"] <= 390 and 300 <= found["phone_image_width"] <= 390, found


def assert_screenshots(found: dict, shot: Path) -> None:
    """The screenshots just taken are real pictures of the page: PNGs of the viewport's width, and in the
    desktop one the live frame, the label and the bars are drawn (each region more than one colour)."""
    from PIL import Image

    with Image.open(shot) as img:
        assert img.format == "PNG" and img.width == 1100 and img.height >= 760, (img.format, img.size)
        grey = np.asarray(img.convert("L"), dtype=np.float32)
    assert grey.std() > 10, "the page screenshot is blank"
    for sel, box in found["boxes"].items():
        assert box and box["width"] > 10 and box["height"] > 10, (sel, box)
        x, y = int(box["x"]), int(box["y"])
        region = grey[y:y + int(box["height"]), x:x + int(box["width"])]
        assert region.size and region.std() > (10 if sel == "#live" else 3), f"{sel} is not drawn in {shot.name}"
    with Image.open(shot.with_name(shot.stem + "-phone.png")) as phone:
        assert phone.format == "PNG" and phone.width == 390, (phone.format, phone.size)
        assert np.asarray(phone.convert("L"), dtype=np.float32).std() > 10, "the phone screenshot is blank"


def test_live_page_in_chromium(clf, tmp_path):
    from tests.serve.conftest import running_service

    video = make_video(tmp_path / "flowers.mp4")
    with running_service(clf, paced_video_loop(clf, video), token="page-test-token") as service:
        found = check_page(service.url + "?token=page-test-token", tmp_path / "page.png")
    assert_live(found, clf.labels)
    assert_screenshots(found, tmp_path / "page.png")


@pytest.mark.slow
def test_live_page_with_the_flowers_model(tmp_path):
    """make test-slow: the real flowers5 export (make export); the screenshots go to tmp_path, never the repo."""
    from edge.runtime import Classifier
    from tests.serve.conftest import running_service

    export = ROOT / "exports" / "flowers5"
    if not (export / "model.int8.onnx").is_file():
        pytest.skip("no exports/flowers5 (make train export)")
    clf = Classifier(export / "model.int8.onnx", spin_wait=False)
    video = make_video(tmp_path / "flowers.mp4")
    with running_service(clf, paced_video_loop(clf, video)) as service:
        found = check_page(service.url, tmp_path / "page.png")
    assert_live(found, clf.labels)
    assert_screenshots(found, tmp_path / "page.png")


def open_page(url: str, ready: str):
    """(playwright, browser, page) with `url` loaded and the selector `ready` present; the caller closes."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install playwright)")
    pw = sync_api.sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
    page = browser.new_page(viewport={"width": 1100, "height": 760})
    page.goto(url, wait_until="domcontentloaded", timeout=30_000)
    page.wait_for_selector(ready, timeout=30_000)
    return pw, browser, page


def test_page_after_the_video_ended_shows_its_last_frame_and_says_finished(clf, tmp_path):
    import httpx
    from PIL import Image

    from tests.serve.conftest import running_service, video_loop

    video = make_video(tmp_path / "flowers.mp4", per_photo=1, fps=24.0)  # 16 frames, 0.7 s paced
    with running_service(clf, video_loop(clf, video)) as service:
        wait_until(lambda: service.hub.state == "done")
        fps = httpx.get(service.url + "healthz").json()["fps"]
        pw, browser, page = open_page(service.url, "#live")
        try:
            wait_until(lambda: page.inner_text("#conn") == "finished")
            wait_until(lambda: page.inner_text("#label") != "–")  # the last prediction, sent to a late page
            wait_until(lambda: (page.locator("#live").bounding_box() or {}).get("height", 0) > 100)
            shot = tmp_path / "last.png"
            page.locator("#live").screenshot(path=str(shot))
            assert float(page.inner_text("#fps")) == fps
            assert "waiting" not in page.inner_text("#state")
        finally:
            browser.close()
            pw.stop()
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float32)
    assert pixels.std() > 10  # a photo, not an empty black frame


def test_api_only_page_shows_no_broken_image(clf):
    from tests.serve.conftest import running_service

    with running_service(clf) as service:
        pw, browser, page = open_page(service.url, "#nolive")
        try:
            wait_until(lambda: page.locator("#nolive").is_visible())
            wait_until(lambda: page.inner_text("#conn") == "API only")
            assert not page.locator("#live").is_visible() and page.locator("#live").bounding_box() is None
        finally:
            browser.close()
            pw.stop()
