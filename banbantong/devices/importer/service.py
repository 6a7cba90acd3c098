"""The import service: read the workbook, match each row with the register, check, write.

import_devices is the one entry for the upload pages and `bbt import devices`. Everything is
checked before anything is written, and the writes go through devices.services inside one
transaction, so a failure on any row leaves the register as it was.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from openpyxl.utils import get_column_letter
from python_calamine import CalamineError, CalamineWorkbook, PasswordError, SheetTypeEnum

from banbantong.core import audit
from banbantong.core.i18n import chinese
from banbantong.core.scope import SYSTEM
from banbantong.core.spreadsheet import NOT_EXCEL
from banbantong.devices import services
from banbantong.devices.importer.cells import (
    HEADERS,
    REQUIRED,
    TEXT_LIMITS,
    CellError,
    header_columns,
    parse_code,
    parse_date,
    parse_price,
    parse_status,
    parse_type,
    text,
)
from banbantong.devices.models import Company, Device
from banbantong.org.models import Classroom, School
from banbantong.org.survey import RowError

HEADER_SCAN_ROWS = 10
MAX_ROWS = 20000

LOCKED = "工作簿设有密码，无法读取。请去掉密码后再导入。"
EMPTY = "工作表是空的，没有任何数据。请下载导入模板，按表头填写后再上传。"
NO_HEADER = (f"在前 {HEADER_SCAN_ROWS} 行没有找到表头。表头一行应包含：" + "、".join(HEADERS[n] for n in REQUIRED)
             + "，其余各列可以省略。请下载导入模板对照。")
NO_DATA = "表头下面没有数据行。"
TOO_MANY = f"一次最多导入 {MAX_ROWS} 台设备，请拆分后分批导入。"


class DevicesInvalid(ValidationError):
    """The sheet has errors; nothing was written. `row_errors` names each one."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"设备表有 {len(errors)} 处错误，没有导入任何数据。请逐条修改后重新导入。",
                         code="devices_invalid")
        self.row_errors = errors


@dataclass
class ImportResult:
    file_name: str
    sha256: str = ""
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    dry_run: bool = False

    COUNT_LABELS = (("rows", "数据行"), ("created", "新登记设备"), ("updated", "更新设备"), ("unchanged", "无变化"))

    def counts(self) -> dict[str, int]:
        return {key: getattr(self, key) for key, _ in self.COUNT_LABELS}

    def labelled_counts(self) -> list[tuple[str, int]]:
        return [(label, getattr(self, key)) for key, label in self.COUNT_LABELS]


# --- Reading the workbook ------------------------------------------------------------------------


@dataclass
class Sheet:
    header_row: int
    columns: dict[str, tuple[int, str, str]]  # field -> (index in row, column letter, header as written)
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)  # (Excel row, cells)


def read_sheet(path: Path) -> Sheet:
    """The first worksheet with a device header, or DevicesInvalid saying why there is none."""
    try:
        with CalamineWorkbook.from_path(str(path)) as workbook:
            any_data = False
            for index, meta in enumerate(workbook.sheets_metadata):
                if meta.typ != SheetTypeEnum.WorkSheet:
                    continue
                sheet = workbook.get_sheet_by_index(index)
                if sheet.start is None:
                    continue
                any_data = True
                rows = list(sheet.iter_rows())  # absolute rows, columns from the first used one
                for r, row in enumerate(rows[:HEADER_SCAN_ROWS]):
                    columns = header_columns(row)
                    if "serial" in columns and len(columns) >= 3:
                        first = sheet.start[1]
                        found = Sheet(r + 1, {name: (c, get_column_letter(first + c + 1), text(row[c]))
                                              for name, c in columns.items()})
                        found.rows = [(n + 1, cells) for n, cells in enumerate(rows[r + 1:], start=r + 1)
                                      if any(c != "" for c in cells)]
                        return found
    except PasswordError:
        raise DevicesInvalid([RowError(None, "", "", LOCKED)]) from None
    except (CalamineError, OSError, ValueError):
        raise DevicesInvalid([RowError(None, "", "", NOT_EXCEL)]) from None
    raise DevicesInvalid([RowError(None, "", "", NO_HEADER if any_data else EMPTY)])


# --- Matching names with the register ---------------------------------------------------------------


def check_can_import(actor: Any) -> None:
    """Device admins, school admins and bureau admins import; the command line runs as the system."""
    if actor is None:
        return
    if getattr(actor, "read_only", False) or not (actor.is_superuser or actor.role in services.DEVICE_ADMIN_ROLES):
        raise PermissionDenied("只有电教管理员、学校管理员或局管理员可以导入设备。")


def find_school(name: str, *, actor: Any) -> School:
    """The school a whole sheet belongs to (`--school`), by name within the actor's scope."""
    matches = list(School.objects.for_user(actor or SYSTEM).filter(name=name.strip()).select_related("region")[:5])
    if not matches:
        raise ValidationError(f"学校“{name.strip()}”不存在或不在您的管辖范围内。")
    if len(matches) > 1:
        raise ValidationError(f"有多所学校叫“{name.strip()}”（" + "、".join(s.region.name for s in matches)
                              + "），请在网页上选定学校后导入。")
    return matches[0]


def _companies(actor: Any) -> dict[str, list[Company]]:
    from banbantong.devices.forms import _regions_above

    qs = Company.objects.select_related("region")
    if actor is not None:
        qs = qs.filter(region__in=_regions_above(actor))
    by_name: dict[str, list[Company]] = {}
    # A county's own entry wins over the city's of the same name: deepest region first.
    for company in sorted(qs, key=lambda c: -len(c.region.path)):
        by_name.setdefault(company.name, []).append(company)
    return by_name


@dataclass
class _Planned:
    row: int
    data: services.DeviceInput
    existing: Device | None
    changed: bool


def _chunks(values: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _check(sheet: Sheet, *, actor: Any, school: School | None) -> tuple[list[_Planned], list[RowError]]:
    viewer = actor if actor is not None else SYSTEM
    errors: list[RowError] = []
    col = sheet.columns
    missing = [name for name in REQUIRED if name not in col and not (name == "school" and school is not None)]
    if missing:
        return [], [RowError(sheet.header_row, HEADERS[n], "", f"第 {sheet.header_row} 行的表头缺少“{HEADERS[n]}”列。")
                    for n in missing]
    if not sheet.rows:
        return [], [RowError(sheet.header_row + 1, "", "", NO_DATA)]
    if len(sheet.rows) > MAX_ROWS:
        return [], [RowError(None, "", "", TOO_MANY)]

    def cells(name: str) -> list[Any]:
        index = col[name][0] if name in col else -1
        return [row[index] if 0 <= index < len(row) else "" for _, row in sheet.rows]

    serials = sorted({parse_code(v) for v in cells("serial")} - {""})
    tags = sorted({parse_code(v) for v in cells("asset_tag")} - {""})
    existing: dict[str, Device] = {}
    holders: dict[str, str] = {}
    for part in _chunks(serials):
        existing.update((d.serial, d) for d in Device.objects.filter(serial__in=part).select_related("school", "classroom",
                                                                                                        "supplier", "integrator"))
    visible = set(Device.objects.for_user(viewer).filter(pk__in=[d.pk for d in existing.values()]).values_list("pk", flat=True))
    for part in _chunks(tags):
        holders.update(Device.objects.filter(asset_tag__in=part).values_list("asset_tag", "serial"))
    names = {text(v) for v in cells("school")} - {""}
    schools: dict[str, list[School]] = {}
    for s in School.objects.for_user(viewer).filter(name__in=names).select_related("region"):
        schools.setdefault(s.name, []).append(s)
    school_ids = {s.pk for found in schools.values() for s in found} | {d.school_id for d in existing.values()}
    if school is not None:
        school_ids.add(school.pk)
    rooms: dict[tuple[int, str], list[Classroom]] = {}
    for room in Classroom.objects.filter(school_id__in=school_ids):
        for label in {str(room), room.name}:
            rooms.setdefault((room.school_id, label), []).append(room)
    companies = _companies(actor)

    planned: list[_Planned] = []
    seen_serials: dict[str, int] = {}
    seen_tags: dict[str, int] = {}
    for excel_row, row in sheet.rows:
        first_error = len(errors)

        def raw(name: str, row: list[Any] = row) -> Any:
            index = col[name][0] if name in col else -1
            return row[index] if 0 <= index < len(row) else ""

        def error(name: str, message: str, excel_row: int = excel_row) -> None:
            _, letter, title = col.get(name, (-1, "", HEADERS[name]))
            errors.append(RowError(excel_row, title, letter, message))

        serial = parse_code(raw("serial"))
        if not serial:
            error("serial", "序列号不能为空。")
            continue
        if serial in seen_serials:
            error("serial", f"序列号 {serial} 与第 {seen_serials[serial]} 行重复：同一台设备只能有一行。")
            continue
        seen_serials[serial] = excel_row
        device = existing.get(serial)
        if device is not None and device.pk not in visible:
            error("serial", f"序列号 {serial} 已登记在您管辖范围以外的学校，不能在这里修改；请核对序列号。")
            continue

        values: dict[str, Any] = {}
        for name, parse in (("type", parse_type), ("status", parse_status), ("purchase_date", parse_date),
                            ("warranty_end", parse_date), ("price", parse_price)):
            if text(raw(name)):
                try:
                    values[name] = parse(raw(name))
                except CellError as exc:
                    error(name, exc.message)
        for name in ("brand", "model", "responsible", "asset_tag"):
            value = parse_code(raw(name)) if name == "asset_tag" else text(raw(name))
            if len(value) > TEXT_LIMITS[name]:
                error(name, f"{HEADERS[name]}太长（最多 {TEXT_LIMITS[name]} 个字）。")
            elif value:
                values[name] = value
        if device is None:
            for name in ("type", "brand", "model"):
                if not text(raw(name)):
                    error(name, f"新登记的设备必须填写“{HEADERS[name]}”。")

        school_name = text(raw("school"))
        target: School | None = None
        if school is not None and school_name and school_name != school.name:
            error("school", f"本次导入限定为“{school.name}”，这一行却是“{school_name}”。")
        elif school is not None:
            target = school
        elif school_name:
            found = schools.get(school_name, [])
            if len(found) == 1:
                target = found[0]
            elif found:
                error("school", f"有 {len(found)} 所学校叫“{school_name}”，请按学校分表并选定学校后导入。")
            else:
                error("school", f"学校“{school_name}”不存在或不在您的管辖范围内。")
        elif device is not None:
            target = device.school
        else:
            error("school", "请填写学校名称。")

        room_label = text(raw("classroom"))
        if target is not None and room_label:
            found_rooms = rooms.get((target.pk, room_label), [])
            if len(found_rooms) == 1:
                values["classroom"] = found_rooms[0]
            elif found_rooms:
                error("classroom", f"“{target.name}”有多间教室叫“{room_label}”，请连同楼栋填写（如 {found_rooms[0]}）。")
            else:
                error("classroom", f"“{target.name}”没有名为“{room_label}”的教室，请先在学校档案中添加教室。")
        for name, kind in (("supplier", None), ("integrator", Company.Kind.INTEGRATOR)):
            company_name = text(raw(name))
            if company_name:
                options = [c for c in companies.get(company_name, []) if kind is None or c.kind == kind]
                if options:
                    values[name] = options[0]
                else:
                    error(name, f"通讯录中没有{HEADERS[name]}“{company_name}”，请先在“厂家与集成商”页面添加。")
        tag = values.get("asset_tag", "")
        if tag and tag in seen_tags:
            error("asset_tag", f"资产编号 {tag} 与第 {seen_tags[tag]} 行重复。")
        elif tag and holders.get(tag, serial) != serial:
            error("asset_tag", f"资产编号 {tag} 已被序列号为 {holders[tag]} 的设备使用。")
        if tag:
            seen_tags.setdefault(tag, excel_row)
        if target is None:
            continue
        # The register's rules run even on a row with bad cells, so one upload lists every
        # problem; a cell already reported stands in with a harmless value.
        bad = {e.column for e in errors[first_error:]}
        stand_ins = {name: value for name, value in (("type", "other"), ("brand", "-"), ("model", "-"))
                     if device is None and name not in values}
        data = _input(serial, target, {**stand_ins, **values}, device)
        problems = [(name, message) for name, message in
                    services.device_problems(data, existing=device, unique_checked=True)
                    if col.get(name, (-1, "", HEADERS[name]))[2] not in bad]
        for name, message in problems:
            error(name, message)
        if len(errors) == first_error:
            changed = device is None or bool(services.device_changes(device, data))
            planned.append(_Planned(excel_row, data, device, changed))
    errors.sort(key=lambda e: (e.row or 0, len(e.letter), e.letter))
    return planned, errors


def _input(serial: str, school: School, values: dict[str, Any], device: Device | None) -> services.DeviceInput:
    """The row's values over what is stored: a blank cell keeps the stored value."""
    if device is None:
        return services.DeviceInput(school=school, serial=serial, status=values.pop("status", Device.Status.IN_USE),
                                    **values)
    classroom = device.classroom if device.school_id == school.pk else None  # a move leaves the old room
    return services.DeviceInput(
        school=school, serial=serial, classroom=values.get("classroom", classroom),
        type=values.get("type", device.type), brand=values.get("brand", device.brand),
        model=values.get("model", device.model), asset_tag=values.get("asset_tag", device.asset_tag),
        supplier=values.get("supplier", device.supplier), integrator=values.get("integrator", device.integrator),
        purchase_date=values.get("purchase_date", device.purchase_date), price=values.get("price", device.price),
        warranty_end=values.get("warranty_end", device.warranty_end),
        responsible=values.get("responsible", device.responsible), status=values.get("status", device.status),
    )


# --- The import -----------------------------------------------------------------------------------


def import_devices(path: Path, *, actor: Any, school: School | None = None, file_name: str = "",
                   dry_run: bool = False) -> ImportResult:
    """Check a device workbook and (unless dry_run) write it, all or nothing.

    Raises DevicesInvalid naming every bad cell, PermissionDenied when the actor may not import.
    `school`, when given, is where rows without a 学校名称 go (and the only school allowed).
    """
    check_can_import(actor)
    if school is not None and actor is not None and not School.objects.for_user(actor).filter(pk=school.pk).exists():
        raise PermissionDenied("该学校不在您的管辖范围内。")
    sheet = read_sheet(path)
    result = ImportResult(file_name=file_name or path.name, sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                          dry_run=dry_run)
    # A dry run only reads; it must not hold SQLite's write lock while the preview page renders.
    with nullcontext() if dry_run else transaction.atomic():
        planned, errors = _check(sheet, actor=actor, school=school)
        if errors:
            raise DevicesInvalid(errors)
        result.rows = len(planned)
        result.created = sum(p.existing is None for p in planned)
        result.updated = sum(p.existing is not None and p.changed for p in planned)
        result.unchanged = result.rows - result.created - result.updated
        if not dry_run:
            _write(planned, result, actor=actor)
    return result


def _write(planned: list[_Planned], result: ImportResult, *, actor: Any) -> None:
    note = f"导入 {result.file_name}："
    row: int | None = None
    try:
        for p in planned:
            if p.existing is not None and p.changed:
                row = p.row
                services.update_device(p.existing, p.data, actor=actor, note=note)
        row = None
        services.register_devices([p.data for p in planned if p.existing is None], actor=actor, note=note)
    except (ValidationError, PermissionDenied) as exc:
        # Changed since the check (another import, say): the transaction undoes every row.
        messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
        raise DevicesInvalid([RowError(row, "", "", m) for m in messages]) from None
    places = {(p.data.school.region_path, p.data.school.pk) for p in planned}
    place: tuple[str, int | None]
    if len(places) == 1:
        place = places.pop()
    else:
        common = os.path.commonprefix([path for path, _ in places])
        place = (common[: common.rfind("/") + 1], None)
    audit.record(audit.Action.IMPORT, None, actor=actor, object_type="devices.Device",
                 object_repr=f"设备导入 {result.file_name}", place=place,
                 after={**result.counts(), "file": result.file_name, "sha256": result.sha256})


def template_sheets() -> list[tuple[str, list[str], list[list[Any]]]]:
    """The template workbook: an empty register sheet, then what each column takes."""
    types = "、".join(chinese(x) for x in Device.Type.labels)
    statuses = "、".join(chinese(x) for x in Device.Status.labels)
    notes = [
        ["学校名称", "必填（从学校页面选定学校导入时可留空）。须是您管辖范围内的学校。"],
        ["教室", "可选。学校档案中已有的教室名称，如 301 或 教学楼301。"],
        ["设备类型", f"必填。{types}；也可写 投影机、一体机、电脑 等常用叫法。"],
        ["品牌 / 型号", "必填，如 爱普生 / CB-X06。"],
        ["序列号", "必填，每台设备唯一。表中已登记的序列号会更新原记录，空白单元格保留原值。"],
        ["资产编号", "可选，留空自动生成 BBT 开头的编号。"],
        ["供货商 / 集成商", "可选，须是“厂家与集成商”通讯录中已有的名称。"],
        ["购置日期 / 保修截止", "可选，写成 2024-05-01。保修截止不能早于购置日期。"],
        ["价格", "可选，金额（元），不能为负数。"],
        ["责任人", "可选。"],
        ["状态", f"可选，默认在用。{statuses}。"],
    ]
    return [("设备", list(HEADERS.values()), []), ("填写说明", ["列", "说明"], notes)]

