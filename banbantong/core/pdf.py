"""PDF helpers: a Chinese font that works offline.

An installed CJK TrueType font (BBT_PDF_FONT, or a common system path) is embedded when found,
so the PDF looks the same everywhere; otherwise the standard CID font STSong-Light is used,
which Chinese PDF readers (WPS, Foxit, Acrobat) carry themselves.
"""

from __future__ import annotations

import os
from functools import cache

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simsun.ttc",
)
CID_FONT = "STSong-Light"


@cache
def chinese_font() -> str:
    """Register and return the name of the font to write Chinese with."""
    for path in filter(None, (os.environ.get("BBT_PDF_FONT"), *FONT_CANDIDATES)):
        if os.path.exists(path):
            try:
                pdfmetrics.registerFont(TTFont("BBTChinese", path, subfontIndex=0))
                return "BBTChinese"
            except Exception:  # noqa: S112 - an unreadable font file: try the next one
                continue
    pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    return CID_FONT
