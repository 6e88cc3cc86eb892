"""The built portal opens in headless Chromium, and its pages render with their tables and images, and fit.

Run after the build (``nox -s docs`` does): ``pytest docs/test_docs.py``. Playwright for Python drives the
system's Chromium (Debian's ``chromium`` package, or ``$NIRVERSE_CHROMIUM``) through ``executable_path``:
it downloads no browser of its own. Each page is loaded at 1280 x 900; the page itself reports how many
tables, rows and loaded images it has, and whether anything in the main content runs past its right edge
(a table whose last columns are cut off) or a table cell grows into a paragraph. A screenshot of each is
kept under ``docs/_build/screenshots/``. The tests skip, with the reason, when Chromium or the built pages
are absent, so the project's main ``pytest`` run, which does not collect ``docs/``, is unaffected.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent
HTML = Path(os.environ.get("NIRVERSE_DOCS_HTML", DOCS / "_build" / "html"))
SHOTS = DOCS / "_build" / "screenshots"
WIDTH, HEIGHT = 1280, 900
#: a table cell taller than this (about six lines of text) is prose that belongs in a note below the table
MAX_CELL_HEIGHT = 150

#: what each page must show: (page, minimum tables, minimum table rows in all, minimum loaded images, text)
PAGES = [
    ("index.html", 1, 3, 1, "Run any"),
    ("frameworks/norse.html", 2, 10, 0, "NIR → Norse"),
    ("matrix.html", 2, 3, 0, "Compatibility matrix"),
    ("conformance.html", 2, 10, 0, "Conformance scoreboard"),
    ("releases.html", 0, 0, 0, "Changelog"),
    ("auto_examples/plot_same_graph_everywhere.html", 0, 0, 1, "One NIR graph in every framework"),
]
#: pages of generated tables, whose cells are short by design (versions, counts, levels; prose goes below);
#: the framework pages' mapping tables quote the plugins' docstrings, formulas and all
COMPACT = {"matrix.html", "conformance.html"}

PROBE = """() => {
  const main = document.querySelector('main') || document.body;
  const edge = main.getBoundingClientRect().right + 1;
  const tables = Array.from(main.querySelectorAll('table'));
  const images = Array.from(main.querySelectorAll('img'));
  const overflowing = Array.from(main.querySelectorAll('table, pre, img, div.highlight')).filter(
    el => el.getBoundingClientRect().right > edge
      || (el.tagName === 'TABLE' && el.parentElement && el.scrollWidth > el.parentElement.clientWidth + 1)
  ).map(el => el.tagName + ': ' + (el.innerText || el.getAttribute('src') || '').slice(0, 60));
  const tall = Array.from(main.querySelectorAll('td')).filter(td => td.getBoundingClientRect().height > %d)
    .map(td => td.innerText.slice(0, 60));
  return {
    title: document.title,
    text: main.innerText,
    tables: tables.length,
    rows: tables.reduce((n, t) => n + t.querySelectorAll('tbody tr').length, 0),
    images: images.map(i => ({src: i.getAttribute('src'), complete: i.complete, width: i.naturalWidth})),
    themed: document.documentElement.getAttribute('data-theme'),
    page_overflow: document.documentElement.scrollWidth > window.innerWidth + 1,
    overflowing: overflowing,
    tall_cells: tall,
    height: Math.ceil(document.documentElement.scrollHeight),
  };
}""" % MAX_CELL_HEIGHT


def _chromium() -> str | None:
    for candidate in (os.environ.get("NIRVERSE_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


class Browser:
    """One headless page of the system's Chromium, driven by Playwright."""

    def __init__(self, executable: str) -> None:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
        )
        self.page = self._browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})

    def open(self, url: str) -> dict:
        self.page.goto(url, wait_until="load")
        # images and the theme's scripts settle after the load event on a busy machine
        self.page.wait_for_function("Array.from(document.images).every(i => i.complete)", timeout=10_000)
        return self.evaluate(PROBE)

    def evaluate(self, expression: str):
        return self.page.evaluate(expression)

    def screenshot(self, path: Path, height: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=height > HEIGHT)

    def close(self) -> None:
        self._browser.close()
        self._playwright.stop()


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    if executable is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium; or set NIRVERSE_CHROMIUM)")
    if not (HTML / "index.html").is_file():
        pytest.skip(f"the docs are not built ({HTML / 'index.html'} is missing): run `nox -s docs`")
    b = Browser(executable)
    yield b
    b.close()


@pytest.mark.parametrize(("page", "tables", "rows", "images", "text"), PAGES, ids=[p[0] for p in PAGES])
def test_page_renders(browser, page, tables, rows, images, text):
    path = HTML / page
    assert path.is_file(), f"{page} was not built"
    state = browser.open(path.as_uri())
    shot = SHOTS / (page.replace("/", "_").removesuffix(".html") + ".png")
    browser.screenshot(shot, state["height"])

    assert text in state["text"], f"{page}: {text!r} is not on the rendered page"
    assert state["themed"], f"{page}: the theme's scripts did not run (no data-theme on <html>)"
    assert state["tables"] >= tables, f"{page}: {state['tables']} tables rendered, expected >= {tables}"
    assert state["rows"] >= rows, f"{page}: {state['rows']} table rows rendered, expected >= {rows}"
    broken = [i["src"] for i in state["images"] if not (i["complete"] and i["width"] > 0)]
    assert not broken, f"{page}: images that did not load: {broken}"
    loaded = [i for i in state["images"] if i["width"] > 0]
    assert len(loaded) >= images, f"{page}: {len(loaded)} images loaded, expected >= {images}"
    assert shot.stat().st_size > 10_000, f"{page}: the screenshot {shot} is (nearly) empty"
    assert not state["page_overflow"], f"{page}: the page scrolls sideways at {WIDTH} px"
    assert not state["overflowing"], f"{page}: content runs past the main column at {WIDTH} px: {state['overflowing']}"
    if page in COMPACT:
        assert not state["tall_cells"], f"{page}: table cells taller than {MAX_CELL_HEIGHT} px: {state['tall_cells']}"


def test_equations_are_typeset(browser):
    """MathJax (served from the build, not a CDN) typesets the semantics page's equations."""
    state = browser.open((HTML / "semantics.html").as_uri())
    deadline = time.monotonic() + 30
    typeset = 0
    while time.monotonic() < deadline:
        typeset = browser.evaluate("() => document.querySelectorAll('mjx-container').length")
        if typeset >= 20:
            break
        time.sleep(0.5)
    browser.screenshot(SHOTS / "semantics.png", state["height"])
    assert typeset >= 20, f"semantics.html: only {typeset} equations typeset (is MathJax served from _static?)"
    assert "\\kappa" not in browser.evaluate("() => document.querySelector('main').innerText"), "raw TeX left on the page"


def test_screenshot_is_not_blank(browser):
    """The index screenshot shows a page, not a blank canvas."""
    shot = SHOTS / "index.png"
    if not shot.is_file():
        browser.screenshot(shot, browser.open((HTML / "index.html").as_uri())["height"])
    from PIL import Image

    with Image.open(shot) as image:
        colors = image.convert("L").getcolors(maxcolors=1 << 16)
    assert colors is None or len(colors) > 8, "the index screenshot is (nearly) one colour"


def test_every_cited_source_file_exists():
    """What the build refuses (``nirverse-docstring`` of a missing path fails it), checked without building."""
    import re

    root = DOCS.parent
    cited = [(page.name, path) for page in DOCS.rglob("*.md") if "_build" not in page.parts
             for path in re.findall(r"\.\. nirverse-docstring:: (\S+)", page.read_text(encoding="utf-8"))]
    assert cited, "the pages cite source files"
    assert [(page, path) for page, path in cited if not (root / path).is_file()] == []
