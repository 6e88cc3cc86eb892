"""The built portal opens in headless Chromium, and its pages render with their tables and images.

Run after the build (``nox -s docs`` does): ``pytest docs/test_docs.py``. The test drives Chromium over
the DevTools protocol on a pipe (``--remote-debugging-pipe``: no port, no extra Python package). It loads
each page, waits for the load event, asks the page itself how many tables, rows and loaded images it
has, and keeps a screenshot of each under ``docs/_build/screenshots/``. It skips, with the reason, when
Chromium (Debian's ``chromium`` package, or ``$NIRVERSE_CHROMIUM``) or the built pages are absent. So the
project's main ``pytest`` run, which does not collect ``docs/``, is unaffected either way.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent
HTML = Path(os.environ.get("NIRVERSE_DOCS_HTML", DOCS / "_build" / "html"))
SHOTS = DOCS / "_build" / "screenshots"
TIMEOUT = 60.0

#: what each page must show: (page, minimum tables, minimum table rows in all, minimum loaded images, text)
PAGES = [
    ("index.html", 1, 3, 1, "Run any"),
    ("frameworks/norse.html", 2, 10, 0, "NIR → Norse"),
    ("matrix.html", 2, 3, 0, "Compatibility matrix"),
    ("conformance.html", 2, 10, 0, "Conformance scoreboard"),
    ("auto_examples/plot_same_graph_everywhere.html", 0, 0, 1, "One NIR graph in every framework"),
]

PROBE = """(() => {
  const main = document.querySelector('main') || document.body;
  const tables = Array.from(main.querySelectorAll('table'));
  const images = Array.from(main.querySelectorAll('img'));
  return {
    title: document.title,
    text: main.innerText,
    tables: tables.length,
    rows: tables.reduce((n, t) => n + t.querySelectorAll('tbody tr').length, 0),
    images: images.map(i => ({src: i.getAttribute('src'), complete: i.complete, width: i.naturalWidth})),
    themed: document.documentElement.getAttribute('data-theme'),
    height: Math.ceil(document.documentElement.scrollHeight),
  };
})()"""


def _chromium() -> str | None:
    for candidate in (os.environ.get("NIRVERSE_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


class Browser:
    """A minimal DevTools-protocol client over Chromium's pipe (fd 3 in, fd 4 out, NUL-separated JSON)."""

    def __init__(self, executable: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="nirverse-docs-chromium-")
        # the child's ends, moved above fd 10 so that placing them at 3 and 4 cannot overwrite one another
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        child_in = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_chrome_r)
        os.close(from_chrome_w)

        def wire() -> None:  # in the child: fd 3 reads our commands, fd 4 carries its answers (both inherited)
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        self.process = subprocess.Popen(
            [executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--hide-scrollbars", "--allow-file-access-from-files",
             f"--user-data-dir={self.profile}", "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=False, preexec_fn=wire,  # Python's own descriptors are not inheritable (PEP 446)
        )
        os.close(child_in)
        os.close(child_out)
        self._buffer = b""
        self._next = 0
        self.events: list[dict] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable", session=True)
        self.call("Runtime.enable", session=True)

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_chrome], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed its DevTools pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def call(self, method: str, session: bool = False, **params) -> dict:
        self._next += 1
        message = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            answer = self._read(deadline)
            if answer.get("id") == self._next:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def wait_for(self, event: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while True:
            for k, seen in enumerate(self.events):
                if seen.get("method") == event:
                    del self.events[: k + 1]
                    return
            self.events.append(self._read(deadline))

    def open(self, url: str) -> dict:
        self.events.clear()
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=1280, height=900, deviceScaleFactor=1,
                  mobile=False)
        self.call("Page.navigate", session=True, url=url)
        self.wait_for("Page.loadEventFired")
        # images and the theme's scripts settle after the load event on a busy machine
        deadline = time.monotonic() + 10
        while True:
            state = self.evaluate(PROBE)
            if all(i["complete"] for i in state["images"]) or time.monotonic() > deadline:
                return state
            time.sleep(0.2)

    def evaluate(self, expression: str):
        answer = self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True)
        if "exceptionDetails" in answer:
            raise RuntimeError(f"page script failed: {answer['exceptionDetails']}")
        return answer["result"]["value"]

    def screenshot(self, path: Path, height: int) -> None:
        height = max(900, min(height, 6000))
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=1280, height=height, deviceScaleFactor=1,
                  mobile=False)
        data = self.call("Page.captureScreenshot", session=True, format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)
        shutil.rmtree(self.profile, ignore_errors=True)


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


def test_equations_are_typeset(browser):
    """MathJax (served from the build, not a CDN) typesets the semantics page's equations."""
    state = browser.open((HTML / "semantics.html").as_uri())
    deadline = time.monotonic() + 30
    typeset = 0
    while time.monotonic() < deadline:
        typeset = browser.evaluate("document.querySelectorAll('mjx-container').length")
        if typeset >= 20:
            break
        time.sleep(0.5)
    browser.screenshot(SHOTS / "semantics.png", state["height"])
    assert typeset >= 20, f"semantics.html: only {typeset} equations typeset (is MathJax served from _static?)"
    assert "\\kappa" not in browser.evaluate("document.querySelector('main').innerText"), "raw TeX left on the page"


def test_screenshot_is_not_blank(browser):
    """The index screenshot shows a page, not a blank canvas."""
    shot = SHOTS / "index.png"
    if not shot.is_file():
        browser.screenshot(shot, browser.open((HTML / "index.html").as_uri())["height"])
    from PIL import Image

    with Image.open(shot) as image:
        colors = image.convert("L").getcolors(maxcolors=1 << 16)
    assert colors is None or len(colors) > 8, "the index screenshot is (nearly) one colour"
