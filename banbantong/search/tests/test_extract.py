"""Text extraction from PPTX, DOCX and PDF, bounded in size; damaged files give no text."""

from __future__ import annotations

import io

from banbantong.search import extract
from banbantong.search.tests.kit import docx, pdf_with_text, pptx

PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def run(data: bytes, content_type: str) -> str:
    return extract.extract_text(io.BytesIO(data), content_type=content_type, size=len(data))


def test_pptx_slides_in_order() -> None:
    data = pptx("第一页", "第二页", *["空"] * 8, "第十一页 勾股定理")
    got = run(data, PPTX)
    assert got.index("第一页") < got.index("第二页") < got.index("勾股定理")


def test_docx_entities_are_decoded_not_expanded() -> None:
    got = run(docx("分数&amp;小数", "<!ENTITY x>"), DOCX)
    assert "分数&小数" in got


def test_pdf_text() -> None:
    assert "勾股定理" in run(pdf_with_text("勾股定理的证明"), "application/pdf")


def test_text_is_bounded() -> None:
    data = pptx(*["长" * 5000] * 10)
    assert len(run(data, PPTX)) == extract.MAX_TEXT_CHARS


def test_damaged_files_and_other_kinds_give_no_text() -> None:
    assert run(b"PK\x03\x04 not a zip", PPTX) == ""
    assert run(b"%PDF-1.4 broken", "application/pdf") == ""
    assert run(b"\x89PNG....", "image/png") == ""
