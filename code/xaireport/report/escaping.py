"""A user's strings (file names, class names, model and layer names, settings) are data, not markup: these turn
any string into text that Markdown (Pandoc's, as Quarto reads it) and HTML show literally.

Every table helper (:mod:`xaireport.report.tables`), heading, caption and sentence that carries such a name goes
through :func:`md` (or :func:`html` inside raw HTML, :func:`attribute` inside a quoted Markdown attribute). In a
chapter's inline expression use :func:`inline`: Quarto inserts a plain string's ``repr`` (backslashes doubled,
markup live), but a ``Markdown`` object's text as Markdown.
"""

from __future__ import annotations

import html as _html
import re
from typing import Any

#: ASCII punctuation that Markdown gives a meaning somewhere (emphasis, links, code, tables, math, citations and
#: cross-references, headings, lists, shortcodes, attributes): each is shown literally after a backslash.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|$@~^=:;\"'/])")
_SPACE = re.compile(r"[\r\n\t\f\v]+")


def md(text: object) -> str:
    """``text`` as literal Markdown inline text: ``&``, ``<``, ``>`` become entities (no HTML tag can start), every
    Markdown punctuation character is backslash-escaped (no emphasis, link, code span, table column, math,
    ``@`` reference or shortcode), and line breaks become spaces (no new block). ``md("a|b_c.png")`` →
    ``a\\|b\\_c\\.png``."""
    s = _SPACE.sub(" ", str(text))
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # the backslash-escape must not touch the entities' own "&" and ";": escape, then restore them
    s = _MARKDOWN.sub(r"\\\1", s)
    return s.replace("&amp\\;", "&amp;").replace("&lt\\;", "&lt;").replace("&gt\\;", "&gt;")


def inline(text: object) -> Any:
    """``text`` for an inline ``{python}`` expression: :func:`md` of it as an IPython ``Markdown`` object."""
    from IPython.display import Markdown

    return Markdown(md(text))


def html(text: object) -> str:
    """``text`` for raw HTML: ``&``, ``<``, ``>``, ``"`` and ``'`` as entities."""
    return _html.escape(_SPACE.sub(" ", str(text)), quote=True)


def attribute(text: object) -> str:
    """``text`` inside a double-quoted Markdown attribute (``fig-alt="…"``): quotes and backslashes escaped,
    ``<``/``>``/``&`` as entities, one line."""
    s = _SPACE.sub(" ", str(text)).replace("\\", "\\\\").replace('"', '\\"')
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
