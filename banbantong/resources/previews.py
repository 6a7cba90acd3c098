"""Previews of library files, made once per file (blob) and kept in storage beside it.

- PDF: the first pages as PNG images (pdfium, through pypdfium2).
- PPTX / DOCX / XLSX: converted to PDF by LibreOffice when the machine has it (`soffice
  --headless`, bounded in time), then as above; otherwise the text the search index extracts.
- Video and audio: played in the page; the download view answers Range requests, so seeking works.
- Images (PNG, JPEG, GIF): shown as they are. SVG and HTML never: they stay attachments.

Everything lands under `previews/<sha256>/` in the default storage; `preview.json` is written
last, so a preview whose making was interrupted is made again from scratch, never shown half.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from banbantong.resources.models import Blob

PREVIEW_PAGES = 3
PAGE_WIDTH = 1000  # pixels: sharp on a laptop, small enough for a school link
MAX_PDF_BYTES = 200 * 1024 * 1024
OFFICE_TIMEOUT_S = 60
TEXT_CHARS = 6000

OFFICE_TYPES = {
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "application/vnd.openxmlformats-officedocument.presentationml.slideshow": ".ppsx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}
INLINE_IMAGES = {"image/png", "image/jpeg", "image/gif", "image/webp"}


@dataclass(frozen=True)
class Preview:
    kind: str  # pages | text | video | audio | image | none
    pages: int = 0
    text: str = ""
    note: str = ""


def _folder(blob: Blob) -> str:
    return f"previews/{blob.sha256}"


def page_key(blob: Blob, number: int) -> str:
    return f"{_folder(blob)}/page-{number}.png"


def office_converter() -> str | None:
    """LibreOffice's command, when this machine has it."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def render_pdf(fh: IO[bytes], *, pages: int = PREVIEW_PAGES, width: int = PAGE_WIDTH) -> list[bytes]:
    """The first pages of a PDF as PNG bytes; [] when pdfium cannot read it."""
    import io

    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(fh.read())
    except pdfium.PdfiumError:
        return []
    out = []
    try:
        for index in range(min(pages, len(document))):
            page = document[index]
            scale = width / max(page.get_width(), 1.0)
            image = page.render(scale=scale).to_pil()
            buffer = io.BytesIO()
            image.save(buffer, format="PNG", optimize=True)
            out.append(buffer.getvalue())
    finally:
        document.close()
    return out


def office_to_pdf(source: Path, converter: str, workdir: Path) -> Path | None:
    """Convert with LibreOffice in its own profile directory (parallel conversions do not collide)."""
    profile = (workdir / "profile").as_uri()
    try:
        subprocess.run(  # noqa: S603 - a fixed program and our own temporary paths
            [converter, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf", "--outdir",
             str(workdir), str(source)],
            check=True, timeout=OFFICE_TIMEOUT_S, capture_output=True,
        )
    except (subprocess.SubprocessError, OSError):
        return None
    result = workdir / (source.stem + ".pdf")
    return result if result.exists() else None


def _office_pages(blob: Blob, suffix: str) -> list[bytes]:
    converter = office_converter()
    if converter is None:
        return []
    with tempfile.TemporaryDirectory(prefix="bbt-preview-") as tmp:
        work = Path(tmp)
        source = work / f"file{suffix}"
        with default_storage.open(blob.storage_key, "rb") as fin, source.open("wb") as fout:
            shutil.copyfileobj(fin, fout, 1024 * 1024)
        pdf = office_to_pdf(source, converter, work)
        if pdf is None:
            return []
        with pdf.open("rb") as fh:
            return render_pdf(fh)


def _text(blob: Blob) -> str:
    # The search app's extractor (bounded in size and time) is the one text reader of the project.
    from banbantong.search.extract import extract_text

    with default_storage.open(blob.storage_key, "rb") as fh:
        return extract_text(fh, content_type=blob.content_type, size=blob.size)[:TEXT_CHARS]


def build(blob: Blob) -> Preview:
    """Make the preview of one file (no storage writes besides the page images)."""
    ct = blob.content_type
    if ct.startswith("video/"):
        return Preview("video")
    if ct.startswith("audio/"):
        return Preview("audio")
    if ct in INLINE_IMAGES:
        return Preview("image")
    images: list[bytes] = []
    note = ""
    if ct == "application/pdf":
        if blob.size <= MAX_PDF_BYTES:
            with default_storage.open(blob.storage_key, "rb") as fh:
                images = render_pdf(fh)
        else:
            note = "文件太大，不生成预览图。"
    elif ct in OFFICE_TYPES:
        images = _office_pages(blob, OFFICE_TYPES[ct])
        if not images:
            note = "本机没有安装 LibreOffice，显示提取的文字。" if office_converter() is None else "转换失败，显示提取的文字。"
    if images:
        for number, png in enumerate(images, start=1):
            default_storage.save(page_key(blob, number), ContentFile(png))
        return Preview("pages", pages=len(images))
    text = _text(blob) if ct in OFFICE_TYPES or ct in {"application/pdf", "text/plain"} else ""
    return Preview("text", text=text, note=note) if text else Preview("none", note=note)


def preview_of(blob: Blob) -> Preview:
    """The stored preview, made on first use."""
    manifest = f"{_folder(blob)}/preview.json"
    if default_storage.exists(manifest):
        with default_storage.open(manifest, "rb") as fh:
            return Preview(**json.loads(fh.read()))
    _, leftovers = default_storage.listdir(_folder(blob)) if default_storage.exists(_folder(blob)) else ([], [])
    for name in leftovers:  # an interrupted earlier attempt: start clean
        default_storage.delete(f"{_folder(blob)}/{name}")
    preview = build(blob)
    default_storage.save(manifest, ContentFile(json.dumps(asdict(preview), ensure_ascii=False).encode()))
    return preview
