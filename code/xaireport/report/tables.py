"""Tables as readers see them: one markdown pipe table per DataFrame, the same in the HTML and the PDF.

:func:`show_table` is what every chapter's table cell returns: no pandas index column (any index other than
pandas' default 0…n-1 becomes the first column, under its name), multi-level headers joined into one row, and one
number format per column: integers as integers, other numbers with a fixed number of decimals (more when a
column's values are all tiny, never scientific notation), missing values as an em dash; numbers right-aligned.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def column_decimals(values: Any, digits: int) -> int:
    """Decimals for a float column: ``digits``, or enough to show two significant digits of its largest
    magnitude when that is below ``10**-digits`` scale (``2.7e-4`` → 5 decimals with ``digits=3``)."""
    finite = [abs(float(v)) for v in values if v == v and math.isfinite(float(v)) and v != 0]
    if not finite:
        return digits
    top = max(finite)
    needed = -math.floor(math.log10(top)) + 1
    return max(digits, min(needed, 8))


def formatted(df: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """The DataFrame with every cell formatted as text (see the module docstring); ``attrs["numeric"]`` lists
    the columns that held numbers."""
    import pandas as pd

    d = df.copy()
    if isinstance(d.columns, pd.MultiIndex):
        d.columns = [" ".join(str(p) for p in col if str(p)) for col in d.columns]
    d.columns.name = None
    if not (isinstance(d.index, pd.RangeIndex) and d.index.name is None):  # a meaningful index: a column
        unnamed = d.index.name is None and not isinstance(d.index, pd.MultiIndex)
        d = d.reset_index()
        if unnamed:
            d = d.rename(columns={"index": ""})
    numeric = [c for c in d.columns if pd.api.types.is_numeric_dtype(d[c]) and not pd.api.types.is_bool_dtype(d[c])]
    for col in d.columns:
        s = d[col]
        if pd.api.types.is_bool_dtype(s):
            d[col] = s.map({True: "yes", False: "no"})
        elif pd.api.types.is_integer_dtype(s):
            d[col] = s.map(lambda v: f"{int(v):d}")
        elif pd.api.types.is_float_dtype(s):
            places = column_decimals(s, digits)
            d[col] = s.map(lambda v, p=places: "—" if pd.isna(v) else f"{v:.{p}f}")
        else:
            d[col] = s.map(lambda v: "—" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
    d.attrs["numeric"] = numeric
    return d


def markdown(df: pd.DataFrame, digits: int = 3) -> str:
    """The DataFrame as a markdown pipe table (no index column; see :func:`formatted`). Every text cell and header
    is data (:func:`xaireport.report.escaping.md`): a file or class name with ``|``, ``<script>`` or ``*`` shows
    as typed, in its own column."""
    from xaireport.report.escaping import md

    d = formatted(df, digits)
    numeric = d.attrs["numeric"]
    align = ["right" if c in numeric else "left" for c in d.columns]
    for c in d.columns:
        if c not in numeric:
            d[c] = d[c].map(md)
    d.columns = [md(c) for c in d.columns]
    return d.to_markdown(index=False, disable_numparse=True, colalign=align)


def show_table(df: pd.DataFrame, digits: int = 3):
    """The DataFrame as the cell's output: a markdown table, so Quarto captions and numbers it (``tbl-cap``) and
    shows the same table in the HTML and the PDF."""
    from IPython.display import Markdown

    return Markdown(markdown(df, digits))


#: Sorting (click a header) and filtering (type in the box) for the site's large tables: plain JavaScript in the
#: page, no library and no network.
_SORT_FILTER_JS = """
<script>
(function () {
  const box = document.getElementById("%(id)s-filter"), table = document.getElementById("%(id)s");
  const body = table.tBodies[0], rows = Array.from(body.rows), count = document.getElementById("%(id)s-count");
  box.addEventListener("input", () => {
    const q = box.value.toLowerCase(); let shown = 0;
    rows.forEach(r => { const hit = r.textContent.toLowerCase().includes(q); r.hidden = !hit; shown += hit; });
    count.textContent = shown + " of " + rows.length + " rows";
  });
  Array.from(table.tHead.rows[0].cells).forEach((th, col) => {
    th.style.cursor = "pointer"; th.title = "sort";
    th.addEventListener("click", () => {
      const up = th.dataset.order !== "asc"; th.dataset.order = up ? "asc" : "desc";
      const key = r => { const t = r.cells[col].textContent.trim(), n = parseFloat(t); return isNaN(n) ? t : n; };
      rows.sort((a, b) => { const x = key(a), y = key(b); return (x > y ? 1 : x < y ? -1 : 0) * (up ? 1 : -1); });
      rows.forEach(r => body.appendChild(r));
    });
  });
})();
</script>
"""


def interactive(df: pd.DataFrame, table_id: str, intro: str = "", digits: int = 3) -> str:
    """Markdown (for an ``output: asis`` cell) that shows the whole table on the website, sortable by any column
    and filtered by a search box, after the markdown ``intro``; nothing in other formats (the PDF shows the page's
    static top-N table)."""
    import html as _html

    d = formatted(df, digits)
    numeric = set(d.attrs["numeric"])
    head = "".join(f"<th>{_html.escape(str(c))}</th>" for c in d.columns)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td style="text-align:{"right" if c in numeric else "left"}">{_html.escape(str(v))}</td>'
            for c, v in zip(d.columns, row)
        )
        + "</tr>"
        for row in d.itertuples(index=False)
    )
    return (
        '::: {.content-visible when-format="html"}\n'
        + (f"{intro}\n\n" if intro else "")
        + "```{=html}\n"
        + f'<input id="{table_id}-filter" type="search" placeholder="filter rows" class="form-control form-control-sm" '
        f'style="max-width:20em;display:inline-block"> <span id="{table_id}-count">{len(d)} rows</span>\n'
        f'<div style="max-height:28em;overflow:auto"><table id="{table_id}" class="table table-sm table-striped small">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>\n"
        + _SORT_FILTER_JS % {"id": table_id}
        + "```\n:::\n"
    )
