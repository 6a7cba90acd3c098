"""Grades 1–12 and the names bureaus write them with (pure; used by import, forms and labels)."""

from __future__ import annotations

import re
import unicodedata

from django.utils.translation import gettext, gettext_lazy, gettext_noop

# The Chinese names stay plain strings: imports and the catalogue match on them. Pages show
# them through gettext (GRADE_CHOICES, grade_label).
GRADE_LABELS = {
    1: gettext_noop("一年级"), 2: gettext_noop("二年级"), 3: gettext_noop("三年级"),
    4: gettext_noop("四年级"), 5: gettext_noop("五年级"), 6: gettext_noop("六年级"),
    7: gettext_noop("初一(七年级)"), 8: gettext_noop("初二(八年级)"), 9: gettext_noop("初三(九年级)"),
    10: gettext_noop("高一"), 11: gettext_noop("高二"), 12: gettext_noop("高三"),
}
GRADE_CHOICES = [(grade, gettext_lazy(label)) for grade, label in GRADE_LABELS.items()]

_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_STAGE_OFFSET = {"小": 0, "初": 6, "高": 9}


def _cn_number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if text in _CN_DIGITS:
        return _CN_DIGITS[text]
    if text.startswith("十") and len(text) == 2 and text[1] in _CN_DIGITS:
        return 10 + _CN_DIGITS[text[1]]
    return None


_PATTERNS = [
    # 初一 / 高二 / 小三
    (re.compile(r"^(?P<stage>小)(?P<n>[一二三四五六1-6])$"), "stage"),
    (re.compile(r"^(?P<stage>[初高])(?P<n>[一二三1-3])$"), "stage"),
    # 七年级 / 7年级 / 初中一年级 / 高中二年级 / 小学三年级
    (re.compile(r"^(?P<stage>小学|初中|高中)?(?P<n>[一二三四五六七八九十]{1,2}|\d{1,2})年级$"), "grade"),
    # plain number
    (re.compile(r"^(?P<n>\d{1,2})$"), "plain"),
]


def parse_grade(value: object) -> int | None:
    """'一年级' -> 1, '初一' -> 7, '七年级' -> 7, '高中二年级' -> 11, '３' -> 3, 3.0 -> 3; else None."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(" ", "")
    for pattern, kind in _PATTERNS:
        m = pattern.match(text)
        if not m:
            continue
        n = _cn_number(m.group("n"))
        if n is None:
            return None
        stage = m.groupdict().get("stage")
        if kind == "stage" and stage:
            n += _STAGE_OFFSET[stage]
        elif kind == "grade" and stage in {"初中", "高中"}:
            n += _STAGE_OFFSET[stage[0]]
        return n if 1 <= n <= 12 else None
    return None


def grade_label(grade: int) -> str:
    label = GRADE_LABELS.get(grade)
    return gettext(label) if label else gettext("%(grade)s年级") % {"grade": grade}


def class_label(grade: int, name: str) -> str:
    """A class as people say it: 四年级1班 in Chinese, "Grade 4 1班" in English (a space between)."""
    return gettext("%(grade)s%(name)s") % {"grade": grade_label(grade), "name": name}
