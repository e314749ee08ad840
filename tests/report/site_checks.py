"""Checks over a rendered site (the smoke render of ``test_quarto_render_smoke``): what a reader would find broken
in the HTML and PDFs, each returning the problems it found (empty: none)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

#: Text that means a page printed an error instead of its content.
ERROR_TEXT = ("Traceback (most recent call last)", "ModuleNotFoundError", "?@")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append((tag, name, value))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


def page_problems(site: Path, page: Path) -> list[str]:
    """One HTML page: error text, unresolved references, remote scripts/styles/fonts, local links to missing
    files, figures that are not valid PNGs."""
    from PIL import Image

    html = page.read_text(encoding="utf-8")
    parser = _Links()
    parser.feed(html)
    text = " ".join(parser.text)
    rel = page.relative_to(site)
    problems = [f"{rel}: shows {marker!r}" for marker in ERROR_TEXT if marker in text]
    for tag, attr, value in parser.links:
        url = urlparse(value)
        if url.scheme in ("http", "https") or value.startswith("//"):
            if tag in ("script", "link", "img", "iframe"):
                problems.append(f"{rel}: <{tag} {attr}={value}> needs the network")
            continue
        if url.scheme or not url.path:  # mailto:, data:, javascript:, or a link to an anchor on this page
            continue
        target = (page.parent / unquote(url.path)).resolve()
        if not target.exists():
            problems.append(f"{rel}: <{tag} {attr}={value}> points at a missing file")
        elif tag == "img" and target.suffix == ".png":
            try:
                with Image.open(target) as im:
                    im.verify()
            except Exception as exc:  # noqa: BLE001 - any unreadable figure is the problem reported
                problems.append(f"{rel}: figure {value} is not a valid PNG ({exc})")
    for css in re.findall(r"@import\s+url\((https?:[^)]+)\)|url\((https?://[^)]+\.(?:woff2?|ttf))\)", html):
        problems.append(f"{rel}: stylesheet loads {css[0] or css[1]} from the network")
    return problems


#: A stylesheet rule that fetches from the network: ``@import url(https://…)``, ``@import "https://…"`` or
#: ``url(https://…)`` (web fonts, images).
REMOTE_CSS = re.compile(r"""@import\s+(?:url\()?\s*["']?(https?://[^"')\s;]+)|url\(\s*["']?(https?://[^"')\s]+)""")


def stylesheet_problems(site: Path, css: Path) -> list[str]:
    """One stylesheet of the site (a theme's CSS, not only the pages' inline styles): rules that load from the
    network."""
    text = css.read_text(encoding="utf-8", errors="replace")
    return [f"{css.relative_to(site)}: loads {a or b} from the network" for a, b in REMOTE_CSS.findall(text)]


def site_problems(site: Path) -> list[str]:
    pages = [p for page in sorted(site.rglob("*.html")) for p in page_problems(site, page)]
    return pages + [p for css in sorted(site.rglob("*.css")) for p in stylesheet_problems(site, css)]
