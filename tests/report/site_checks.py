"""Checks over a rendered site (the smoke render of ``test_quarto_render_smoke``): what a reader would find broken
in the HTML and PDFs, each returning the problems it found (empty: none)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

#: Text that means a page printed an error instead of its content.
ERROR_TEXT = ("Traceback (most recent call last)", "ModuleNotFoundError", "?@")
#: Quarto's names of output formats, which a reader does not look for ("Typst" for the PDF).
FORMAT_NAMES = ("Typst", "typst")


#: Elements whose text is one run of prose (parentheses are matched within it).
BLOCKS = {"p", "li", "td", "th", "figcaption", "caption", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6"}
#: Elements whose text is not prose (a formula's or code's parentheses are not a sentence's).
NOT_PROSE = {"script", "style", "code", "pre", "math"}
#: Elements without an end tag.
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.text: list[str] = []
        self.code_folds = 0  # per-cell code toggles (<details class="code-fold">)
        self.format_links: list[str] = []  # the texts of the margin's links to other formats
        self.nested_citations: list[str] = []  # a citation in parentheses inside parentheses: "(Grad-CAM (… 2017))"
        self.unread_citations: list[str] = []  # "[Chalasani et al. (2020), as …; …]": a bracket Pandoc did not read
        self._skip = 0
        self._not_prose = 0
        self._blocks: list[list[str]] = []  # the prose of each open block, innermost last
        self._citation: list[str] | None = None  # the text of the citation being read
        self._citation_spans = 0
        self._citation_before = ""
        self._formats = 0  # inside the "Other Formats" list (0: no; else the element depth there)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        if tag in NOT_PROSE:
            self._not_prose += 1
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append((tag, name, value))
        classes = (dict(attrs).get("class") or "").split()
        if tag == "details" and "code-fold" in classes:
            self.code_folds += 1
        if self._formats and tag not in VOID:
            self._formats += 1
        elif "quarto-alternate-formats" in classes:
            self._formats = 1
        if tag in BLOCKS:
            self._blocks.append([])
        if tag == "span" and self._citation is not None:
            self._citation_spans += 1
        elif tag == "span" and "citation" in classes and self._blocks:
            self._citation, self._citation_spans = [], 1
            self._citation_before = "".join(self._blocks[-1])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        if tag in NOT_PROSE and self._not_prose:
            self._not_prose -= 1
        if self._formats:
            self._formats -= 1
        if tag == "span" and self._citation is not None:
            self._citation_spans -= 1
            if self._citation_spans == 0:
                cited, before = "".join(self._citation), self._citation_before
                if "(" in cited and before.count("(") > before.count(")"):
                    self.nested_citations.append(f"{before[-40:].lstrip()}{cited}")
                elif before.rstrip().endswith("["):
                    self.unread_citations.append(f"{before[-40:].lstrip()}{cited}")
                self._citation = None
        if tag in BLOCKS and self._blocks:
            self._blocks.pop()

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)
        if self._formats and data.strip():
            self.format_links.append(data.strip())
        if self._not_prose:
            return
        if self._citation is not None:
            self._citation.append(data)
        if self._blocks:
            self._blocks[-1].append(data)


#: A backslash before Markdown punctuation in a page's prose: text escaped twice (``Grad\\\\-CAM`` shows a backslash).
LEAKED_ESCAPE = re.compile(r".{0,30}\\[-_*`#\[\]].{0,20}")


def leaked_escapes(html: str) -> list[str]:
    """The prose of ``html`` (no code, scripts, styles or math) where a Markdown escape was printed."""
    import html as html_lib

    prose = re.sub(r"<(script|style|code|pre)\b.*?</\1>", " ", html, flags=re.S)
    prose = re.sub(r'<span class="math[^"]*">.*?</span>', " ", prose, flags=re.S)
    prose = html_lib.unescape(re.sub(r"<[^>]+>", "", prose))
    return [m.group(0) for m in LEAKED_ESCAPE.finditer(prose)]


def page_problems(site: Path, page: Path) -> list[str]:
    """One HTML page: error text, unresolved references, remote scripts/styles/fonts, local links to missing
    files, figures that are not valid PNGs; and what clutters a reader's page: per-cell code toggles, a citation's
    parentheses inside a sentence's ("(Grad-CAM (Selvaraju et al. 2017))"), a format link named after the engine
    ("Typst") instead of "PDF", a Markdown escape printed as text."""
    from PIL import Image

    html = page.read_text(encoding="utf-8")
    parser = _Links()
    parser.feed(html)
    text = " ".join(parser.text)
    rel = page.relative_to(site)
    problems = [f"{rel}: shows {marker!r}" for marker in ERROR_TEXT if marker in text]
    if parser.code_folds:
        problems.append(f"{rel}: {parser.code_folds} per-cell code toggles (the page's code is behind one button)")
    problems += [f"{rel}: a citation in parentheses inside parentheses: {c!r}" for c in parser.nested_citations]
    problems += [f"{rel}: a bracketed citation Pandoc did not read (a ';' in its text?): {c!r}"
                 for c in parser.unread_citations]  # fmt: skip
    problems += [f"{rel}: the margin links the format {t!r}" for t in parser.format_links if t in FORMAT_NAMES]
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
    problems += [f"{rel}: a Markdown escape shows as text: {m!r}" for m in leaked_escapes(html)]
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
