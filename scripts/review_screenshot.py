"""Screenshot a review.html in headless Chromium (Debian's /usr/bin/chromium through Playwright).

    python scripts/review_screenshot.py runs/flowers5/review/review.html benchmarks/review/review.png \
        --cell 1-4 --height 1700
"""

from __future__ import annotations

import argparse
from pathlib import Path

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("html", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--cell", help="open this confusion cell first, e.g. 1-4 (given roses, predicted tulips)")
    ap.add_argument("--anchor", help="scroll to this section id instead of the top, e.g. suspects")
    ap.add_argument("--height", type=int, default=1600)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=a.chromium, args=ARGS)
        page = browser.new_page(viewport={"width": 1240, "height": a.height})
        page.goto(a.html.resolve().as_uri() + (f"#cell-{a.cell}" if a.cell else ""))
        if a.cell:
            page.evaluate("window.scrollTo(0, 0)")  # the opened cell shows under the matrix
        if a.anchor:
            page.eval_on_selector(f"#{a.anchor}", "e => e.scrollIntoView()")
        a.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(a.out))
        browser.close()
    print(a.out)


if __name__ == "__main__":
    main()
