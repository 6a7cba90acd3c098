"""Reading a device sheet's cells (pure): the columns, the names schools write, and each cell's
value or the Chinese message saying what to fix. Tested without a database."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from banbantong.core.i18n import chinese
from banbantong.devices.models import Device

# The template's columns, in order; REQUIRED must be there (学校名称 not when the school is chosen).
HEADERS: dict[str, str] = {
    "school": "学校名称", "classroom": "教室", "type": "设备类型", "brand": "品牌", "model": "型号",
    "serial": "序列号", "asset_tag": "资产编号", "supplier": "供货商", "integrator": "集成商",
    "purchase_date": "购置日期", "price": "价格", "warranty_end": "保修截止", "responsible": "责任人",
    "status": "状态",
}
REQUIRED = ("school", "type", "brand", "model", "serial")
# Other ways schools head the same column (compared without spaces, brackets, * or case).
HEADER_VARIANTS: dict[str, tuple[str, ...]] = {
    "school": ("学校",), "classroom": ("安装教室", "教室名称", "安装位置"), "type": ("类型", "设备类别"),
    "model": ("规格型号",), "serial": ("sn", "设备序列号", "序列号sn"), "asset_tag": ("资产号", "资产编码"),
    "supplier": ("供应商",), "purchase_date": ("购买日期", "采购日期"), "price": ("价格元", "单价", "单价元"),
    "warranty_end": ("保修截止日期", "保修到期", "保修期至"), "responsible": ("管理人",), "status": ("设备状态",),
}
# Chinese names schools use for each type, besides the code and the label.
TYPE_ALIASES: dict[str, str] = {
    "投影机": "projector", "电视": "lcd_tv", "电视机": "lcd_tv", "一体机": "flat_panel", "触控一体机": "flat_panel",
    "触摸一体机": "flat_panel", "交互智能平板": "flat_panel", "智能平板": "flat_panel", "计算机": "computer",
    "台式机": "computer", "台式电脑": "computer", "笔记本": "computer", "笔记本电脑": "computer", "影碟机": "dvd",
    "dvd播放机": "dvd", "展台": "visualiser", "视频展台": "visualiser", "音箱": "speakers", "功放": "speakers",
    "幕布": "screen", "投影幕布": "screen", "其它": "other",
}
STATUS_ALIASES: dict[str, str] = {"正常": "in_use", "使用中": "in_use", "维修": "repair", "闲置": "spare",
                                  "已报废": "scrapped"}
MAX_PRICE = Decimal("99999999.99")  # the register's price column holds ten digits
TEXT_LIMITS = {"brand": 60, "model": 80, "serial": 80, "asset_tag": 40, "responsible": 50}


class CellError(ValueError):
    """A cell that cannot be read, with the message for the person fixing the sheet."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _key(text: str) -> str:
    return re.sub(r"[\s*（）()【】\[\]:：/、]", "", unicodedata.normalize("NFKC", text).lower())


HEADER_KEYS = {_key(v): name for name, title in HEADERS.items() for v in (title, *HEADER_VARIANTS.get(name, ()))}
TYPE_KEYS = {**{_key(k): v for k, v in TYPE_ALIASES.items()},
             **{_key(chinese(label)): code for code, label in Device.Type.choices}, **{code: code for code in Device.Type.values}}
STATUS_KEYS = {**{_key(k): v for k, v in STATUS_ALIASES.items()},
               **{_key(chinese(label)): code for code, label in Device.Status.choices},
               **{code: code for code in Device.Status.values}}


def text(raw: Any) -> str:
    """A cell as text: 12345.0 (how Excel keeps a typed number) reads as 12345."""
    if raw is None or raw == "":
        return ""
    if isinstance(raw, bool):
        return "是" if raw else "否"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, dt.date):
        return raw.isoformat()
    return str(raw).strip()


def parse_code(raw: Any) -> str:
    """Serial numbers and asset tags: full-width letters and digits made plain, spaces dropped."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text(raw)))


def parse_type(raw: Any) -> str:
    value = TYPE_KEYS.get(_key(text(raw)))
    if value is None:
        raise CellError(f"未知的设备类型“{text(raw)}”。可填：" + "、".join(chinese(x) for x in Device.Type.labels) + "。")
    return value


def parse_status(raw: Any) -> str:
    value = STATUS_KEYS.get(_key(text(raw)))
    if value is None:
        raise CellError(f"未知的设备状态“{text(raw)}”。可填：" + "、".join(chinese(x) for x in Device.Status.labels) + "。")
    return value


_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
EXCEL_EPOCH = dt.date(1899, 12, 30)


def parse_date(raw: Any) -> dt.date:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    value = unicodedata.normalize("NFKC", text(raw))
    try:
        if isinstance(raw, float) and 20000 <= raw <= 80000:  # a date cell formatted as a number
            return EXCEL_EPOCH + dt.timedelta(days=int(raw))
        if re.fullmatch(r"\d{8}", value):
            return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
        if m := _DATE.fullmatch(value):
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        pass
    raise CellError(f"“{value}”不是有效的日期，请写成 2024-05-01 这样的格式。")


def parse_price(raw: Any) -> Decimal:
    value = re.sub(r"[\s,¥￥元]", "", unicodedata.normalize("NFKC", text(raw)))
    try:
        price = Decimal(value)
    except InvalidOperation:
        raise CellError(f"价格“{text(raw)}”不是数字，请只填金额（元），如 3580 或 3580.50。") from None
    if not price.is_finite() or abs(price) > MAX_PRICE:
        raise CellError("价格超出范围（最多 9999 万元）。")
    return price.quantize(Decimal("0.01"))


def header_columns(row: list[Any]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(row):
        name = HEADER_KEYS.get(_key(text(cell))) if isinstance(cell, str) else None
        if name is not None and name not in found:
            found[name] = index
    return found

