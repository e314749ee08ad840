from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from pypdf import PdfReader  # noqa: E402

from xaireport.report.combine_pdf import combine, page_order, publish_book  # noqa: E402


def _pdf(path, pages):
    from matplotlib.backends.backend_pdf import PdfPages

    path.parent.mkdir(parents=True, exist_ok=True)
    with PdfPages(path) as pdf:
        for _ in range(pages):
            fig = plt.figure()
            pdf.savefig(fig)
            plt.close(fig)


def test_combined_report_concatenates_pages_in_order(root, tmp_path):
    order = page_order(root)
    assert order[0] == "index.pdf" and all(p.endswith(".pdf") for p in order)
    _pdf(tmp_path / "index.pdf", 1)
    _pdf(tmp_path / "chapters/b.pdf", 2)
    out = combine(tmp_path, ["index.pdf", "chapters/missing.pdf", "chapters/b.pdf"])
    reader = PdfReader(out)
    assert len(reader.pages) == 3
    assert [o.title for o in reader.outline] == ["index", "b"]
    assert combine(tmp_path / "nothing", ["x.pdf"]) is None


def test_report_pdf_is_the_book_when_this_render_made_it(root, tmp_path):
    assert "chapters/book.pdf" not in page_order(root)
    assert publish_book(tmp_path, []) is None  # no book rendered: the pages are joined instead
    _pdf(tmp_path / "chapters/book.pdf", 3)
    assert publish_book(tmp_path, ["_site/index.html"]) is None  # an older book, not from this render
    out = publish_book(tmp_path, [str(tmp_path / "chapters/book.pdf")])
    assert out == tmp_path / "report.pdf" and len(PdfReader(out).pages) == 3
