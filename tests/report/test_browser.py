"""The rendered site in a real browser: headless Chromium (Debian's ``chromium`` and ``chromium-driver``, driven by
Selenium; no browser download) opens every page of the smoke render served over HTTP, as a reader's browser would.

Fails on any console error; clicks a sortable column of chapter 1's unit table and checks the rows are reordered;
opens a figure in the lightbox; checks that every map in chapter 6's gallery shows structure. Skips, saying so in the
test report, only where no Chromium is installed (``bash .ci/run`` installs it with apt-get where it can).
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
DRIVER = shutil.which("chromedriver")

pytestmark = [
    pytest.mark.quarto,
    pytest.mark.skipif(
        CHROMIUM is None or DRIVER is None,
        reason="no Chromium here: the browser checks did not run (apt-get install chromium chromium-driver)",
    ),
]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # the test output shows failures, not every request
        pass


@pytest.fixture(scope="module")
def served(smoke_site: Path) -> Iterator[str]:
    """The site on a local HTTP server (as GitHub Pages serves it; file:// pages behave differently): its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(smoke_site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1300,900"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _open(browser, url: str) -> list[str]:
    """Load a page and wait for its scripts; the console errors it logged."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(url)
    WebDriverWait(browser, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_every_page_loads_without_console_errors(smoke_site, served, browser):
    pages = sorted(p.relative_to(smoke_site).as_posix() for p in smoke_site.rglob("*.html"))
    assert "index.html" in pages and len(pages) >= 7
    errors = {page: e for page in pages if (e := _open(browser, f"{served}/{page}"))}
    assert errors == {}
    assert browser.execute_script("return document.querySelector('nav.navbar') !== null")


def _column(browser, table_id: str, col: int) -> list[str]:
    return browser.execute_script(
        "return Array.from(document.getElementById(arguments[0]).tBodies[0].rows)"
        ".map(r => r.cells[arguments[1]].textContent.trim());",
        table_id,
        col,
    )


def test_unit_table_sorts_by_a_clicked_column(served, browser):
    from selenium.webdriver.common.by import By

    assert _open(browser, f"{served}/chapters/network-dissection.html") == []
    table = browser.find_element(By.CSS_SELECTOR, "table[id^='units-']")
    table_id = table.get_attribute("id")
    headers = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
    col = headers.index("similarity")
    before = [float(v) for v in _column(browser, table_id, col)]
    assert len(before) > 3 and before != sorted(before)  # the table starts in unit order, not by similarity
    header = table.find_elements(By.CSS_SELECTOR, "thead th")[col]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", header)
    header.click()
    ascending = [float(v) for v in _column(browser, table_id, col)]
    assert ascending == sorted(before)
    header.click()
    assert [float(v) for v in _column(browser, table_id, col)] == sorted(before, reverse=True)
    box = browser.find_element(By.ID, f"{table_id}-filter")
    word = _column(browser, table_id, headers.index("description"))[0]
    box.send_keys(word)
    shown = browser.execute_script(
        "return Array.from(document.getElementById(arguments[0]).tBodies[0].rows).filter(r => !r.hidden).length;",
        table_id,
    )
    assert 1 <= shown <= len(before)
    assert browser.find_element(By.ID, f"{table_id}-count").text == f"{shown} of {len(before)} rows"


def test_a_figure_opens_in_the_lightbox(served, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    assert _open(browser, f"{served}/chapters/cam-methods.html") == []
    link = browser.find_element(By.CSS_SELECTOR, "a.lightbox")
    target = link.get_attribute("href")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", link)
    link.click()
    image = WebDriverWait(browser, 15).until(
        lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, ".glightbox-container .gslide-image img")), None)
    )
    WebDriverWait(browser, 15).until(lambda d: image.is_displayed())
    assert image.get_attribute("src") == target
    assert browser.execute_script("return arguments[0].naturalWidth", image) > 100  # the PNG loaded
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


#: The least standard deviation (0–255 grey levels) of one heat map in chapter 6's gallery. A map the display
#: scaled into one colour (all black: nothing above the clip; or one flat tone) is below it; the smoke render's
#: sparsest map (Guided Backprop) measured well above it.
GALLERY_STD_FLOOR = 4.0


def gallery_cells(png: Path) -> list[np.ndarray]:
    """The square image cells of a gallery figure (input and heat maps, in reading order) as grey arrays: the
    connected non-white regions of the PNG that are about square and at least half as large as the largest (titles,
    tick labels and the tall colour bar are not)."""
    from PIL import Image
    from scipy import ndimage

    with Image.open(png) as im:
        rgb = np.asarray(im.convert("RGB"), dtype=np.float64)
    regions, _ = ndimage.label(rgb.min(axis=2) < 250)
    boxes = [b for b in ndimage.find_objects(regions) if b is not None]
    side = max(min(b[0].stop - b[0].start, b[1].stop - b[1].start) for b in boxes)
    cells = []
    for b in boxes:
        h, w = b[0].stop - b[0].start, b[1].stop - b[1].start
        if min(h, w) >= side / 2 and 0.8 <= h / w <= 1.25:
            cells.append((b[0].start // (side // 2), b[1].start, rgb[b].mean(axis=2)))
    return [c for _, _, c in sorted(cells, key=lambda c: (c[0], c[1]))]


def test_every_map_in_chapter_6s_gallery_shows_structure(smoke_site, served, browser):
    """Issue 37: four of fourteen maps looked blank (a uniform overlay). The page shows the gallery, and every heat
    map in it varies (grey-level standard deviation above :data:`GALLERY_STD_FLOOR`), so a blank figure fails."""
    from selenium.webdriver.common.by import By

    from xaireport.settings import load

    assert _open(browser, f"{served}/chapters/method-evaluation.html") == []
    image = browser.find_element(By.CSS_SELECTOR, "#fig-evaluation-gallery img")
    assert browser.execute_script("return arguments[0].naturalWidth", image) > 300  # the PNG loaded
    src = image.get_attribute("src").removeprefix(served + "/")
    cells = gallery_cells(smoke_site / src)
    import pandas as pd

    settings = load(profile="smoke")
    rows = pd.read_csv(settings.folder(settings.paths.results) / "evaluation/evaluation.csv")["method"].unique()
    methods = list(rows)  # one per method, methods with the same map on this model merged into one
    assert len(cells) == len(methods) + 1  # the input, then one heat map per row of the chapter
    stds = {m: float(cell.std()) for m, cell in zip(methods, cells[1:])}
    assert all(s > GALLERY_STD_FLOOR for s in stds.values()), stds
