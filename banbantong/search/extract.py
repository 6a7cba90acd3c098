"""Text of a stored file for the search index: PPTX, PPSX and DOCX (zip + XML), PDF (pypdf), TXT.

Files reach here only after resources/rules.py accepted them (type matches the bytes, no macros,
a sane zip listing). Extraction is still bounded, because one odd file must not stall indexing:
at most `MAX_TEXT_CHARS` characters, `MAX_XML_BYTES` of XML read in all, `MAX_PDF_PAGES` pages
and `TIME_BUDGET` seconds (checked between parts). Whatever cannot be read yields "" and the
resource is still found by its title, description and tags.
"""

from __future__ import annotations

import html
import logging
import re
import sys
import time
import zipfile
from collections.abc import Iterator
from typing import IO

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 12_000  # what PostgreSQL positions (≤ 16383) can hold as phrases; see backends
MAX_XML_BYTES = 16 * 1024 * 1024
MAX_ENTRY_BYTES = 4 * 1024 * 1024
MAX_PDF_PAGES = 60
MAX_PDF_BYTES = 200 * 1024 * 1024
MAX_TXT_BYTES = 256 * 1024
TIME_BUDGET = 10.0

# Text runs of DrawingML (<a:t>) and WordprocessingML (<w:t>). A regular expression rather than
# an XML parser: no entity expansion, no DTD, and a cut-off document still yields its text.
_XML_TEXT = re.compile(rb"<(?:a|w):t(?:\s[^>]*)?>([^<]*)</(?:a|w):t>")
_XML_BREAK = re.compile(rb"</(?:a|w):p>")
_SLIDE = re.compile(r"^ppt/(slides/slide|notesSlides/notesSlide)(\d+)\.xml$")


def _zip_parts(archive: zipfile.ZipFile, kind: str) -> list[str]:
    names = archive.namelist()
    if kind == "docx":
        wanted = ["word/document.xml"] + sorted(
            n for n in names if re.match(r"^word/(header|footer|footnotes)\d*\.xml$", n)
        )
        return [n for n in wanted if n in names]
    # Slides in their order (slide2 before slide10), then the speaker notes.
    slides = [(m.group(1), int(m.group(2)), n) for n in names if (m := _SLIDE.match(n))]
    return [n for _kind, _num, n in sorted(slides, key=lambda s: (s[0] != "slides/slide", s[1]))]


def _ooxml_text(fh: IO[bytes], kind: str, deadline: float) -> Iterator[str]:
    budget = MAX_XML_BYTES
    with zipfile.ZipFile(fh) as archive:
        for name in _zip_parts(archive, kind):
            if budget <= 0 or time.monotonic() > deadline:
                return
            with archive.open(name) as part:
                data = part.read(min(MAX_ENTRY_BYTES, budget))
            budget -= len(data)
            for paragraph in _XML_BREAK.split(data):
                pieces = [html.unescape(t.decode("utf-8", "replace")) for t in _XML_TEXT.findall(paragraph)]
                if pieces:
                    yield "".join(pieces)


def _pdf_text(fh: IO[bytes], deadline: float) -> Iterator[str]:
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # broken fonts are common and not our error
    reader = PdfReader(fh, strict=False)
    for index, page in enumerate(reader.pages):
        if index >= MAX_PDF_PAGES or time.monotonic() > deadline:
            return
        yield page.extract_text() or ""


def extract_text(fh: IO[bytes], *, content_type: str, size: int) -> str:
    """Up to MAX_TEXT_CHARS characters of the file's text; "" for kinds without text or on failure."""
    deadline = time.monotonic() + TIME_BUDGET
    kind = {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.slideshow": "pptx",
        "application/pdf": "pdf",
        "text/plain": "txt",
    }.get(content_type)
    if kind is None:
        return ""
    parts: Iterator[str]
    try:
        if kind == "txt":
            raw = fh.read(MAX_TXT_BYTES)
            for encoding in ("utf-8", "gb18030"):
                try:
                    return raw.decode(encoding)[:MAX_TEXT_CHARS]
                except UnicodeDecodeError:
                    continue
            return ""
        if kind == "pdf":
            if size > MAX_PDF_BYTES:
                return ""
            parts = _pdf_text(fh, deadline)
        else:
            parts = _ooxml_text(fh, kind, deadline)
        out: list[str] = []
        total = 0
        for part in parts:
            out.append(part)
            total += len(part) + 1
            if total >= MAX_TEXT_CHARS:
                break
        return "\n".join(out)[:MAX_TEXT_CHARS]
    except Exception:  # a damaged file must not stop indexing; the metadata is still indexed
        log.warning("text extraction failed (%s, %d bytes): %s", content_type, size, sys.exc_info()[1])
        return ""
