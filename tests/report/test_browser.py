"""The rendered site in a real browser: headless Chromium (Debian's ``chromium`` and ``chromium-driver``, driven by
Selenium; no browser download) opens every page of the smoke render served over HTTP, as a reader's browser would.

Fails on any console error; clicks a sortable column of chapter 1's unit table and checks the rows are reordered;
opens a figure in the lightbox. Skips, saying so in the test report, only where no Chromium is installed
(``bash .ci/run`` installs it with apt-get where it can).
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

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
