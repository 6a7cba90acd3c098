"""A real table of contents for the demo: 人教版 义务教育教科书《数学》三年级上册.

Units and sections as printed in the book (2014 edition, in use in Jiangxi primary schools);
the demo county loads it through the same import path as an uploaded template.
"""

from __future__ import annotations

from typing import Any

from banbantong.core.scope import SYSTEM
from banbantong.org.models import Region
from banbantong.resources.catalogue import CatalogueResult, Row, load_rows

STAGE, SUBJECT, EDITION, GRADE, TERM = "小学", "数学", "人教版", 3, "上册"

UNITS: list[tuple[str, list[str]]] = [
    ("时、分、秒", ["秒的认识", "时间的计算"]),
    ("万以内的加法和减法（一）", ["两位数加两位数口算", "两位数减两位数口算", "几百几十加减几百几十", "估算"]),
    ("测量", ["毫米、分米的认识", "千米的认识", "吨的认识"]),
    ("万以内的加法和减法（二）", ["加法", "减法", "估算与验算"]),
    ("倍的认识", ["倍的认识", "求一个数是另一个数的几倍", "求一个数的几倍是多少"]),
    ("多位数乘一位数", ["口算乘法", "笔算乘法（不进位）", "笔算乘法（进位）", "解决问题"]),
    ("长方形和正方形", ["四边形", "长方形和正方形的特征", "周长", "长方形和正方形的周长"]),
    ("分数的初步认识", ["几分之一", "几分之几", "分数的简单计算", "分数的简单应用"]),
    ("数学广角——集合", ["集合"]),
    ("总复习", ["总复习"]),
]


def rows() -> list[Row]:
    return [
        Row(0, STAGE, SUBJECT, EDITION, GRADE, TERM, u, unit, n, lesson)
        for u, (unit, lessons) in enumerate(UNITS, start=1)
        for n, lesson in enumerate(lessons, start=1)
    ]


def load_example(region: Region, *, actor: Any = SYSTEM) -> CatalogueResult:
    return load_rows(rows(), region=region, actor=actor, file_name="人教版数学三年级上册（示例）")
