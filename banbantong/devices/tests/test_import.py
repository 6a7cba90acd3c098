"""Excel import of the device register: upsert by serial, all or nothing, errors by row and column."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from openpyxl import Workbook, load_workbook

from banbantong.conftest import World
from banbantong.core.models import AuditEntry
from banbantong.devices.importer import HEADERS, DevicesInvalid, import_devices
from banbantong.devices.importer.cells import CellError, parse_date, parse_price, parse_type
from banbantong.devices.importer.service import EMPTY, NO_DATA, NOT_EXCEL
from banbantong.devices.models import Company, Device

HEADER = list(HEADERS.values())
# 学校名称, 教室, 设备类型, 品牌, 型号, 序列号, 资产编号, 供货商, 集成商, 购置日期, 价格, 保修截止, 责任人, 状态
ROWS: list[list[Any]] = [
    ["文峰中心小学", "301", "投影仪", "爱普生", "CB-X06", "IMP-001", "", "", "赣教科技", "2024-03-01", 3580, "2027-03-01",
     "张老师", "在用"],
    ["文峰中心小学", "", "一体机", "希沃", "F86", "IMP-002", "ZC-0002", "", "", dt.date(2024, 9, 1), "12,800.50", "", "",
     ""],
    ["文峰村小", "", "电脑", "联想", "M720", "IMP-003", "", "", "", "2023/9/1", "", "", "", "备用"],
]


def make_sheet(path: Path, rows: Sequence[Sequence[Any]] = ROWS, *, header: Sequence[str] = HEADER) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(["吉水县班班通设备登记表"])  # a title above the header, as schools write them
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    wb.save(path)
    return path


@pytest.fixture
def company(world: World) -> Company:
    return Company.objects.create(region=world.county_a, name="赣教科技", kind=Company.Kind.INTEGRATOR)


def _errors(exc: pytest.ExceptionInfo[DevicesInvalid]) -> list[str]:
    return [str(e) for e in exc.value.row_errors]


# --- cells (pure) -------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "code"), [("投影仪", "projector"), ("一体机", "flat_panel"), ("电脑", "computer"),
                                          ("交互式一体机", "flat_panel"), ("projector", "projector"),
                                          (" 液晶电视 ", "lcd_tv"), ("DVD 播放机", "dvd"), ("音箱/功放", "speakers")])
def test_device_types_by_chinese_name_or_code(raw: str, code: str) -> None:
    assert parse_type(raw) == code


def test_unknown_type_lists_the_choices() -> None:
    with pytest.raises(CellError, match="未知的设备类型“全息仪”。可填：投影仪"):
        parse_type("全息仪")


@pytest.mark.parametrize("raw", ["2024-05-01", "2024/5/1", "2024.05.01", "2024年5月1日", "20240501",
                                 dt.datetime(2024, 5, 1, 0, 0), 45413.0])
def test_dates(raw: object) -> None:
    assert parse_date(raw) == dt.date(2024, 5, 1)


@pytest.mark.parametrize("raw", ["2024-02-30", "去年", "5/1"])
def test_bad_dates(raw: str) -> None:
    with pytest.raises(CellError, match="不是有效的日期"):
        parse_date(raw)


def test_prices() -> None:
    assert parse_price("¥12,800.50元") == Decimal("12800.50")
    assert parse_price(-5) == Decimal("-5.00")  # negative is the register's rule, reported with the row
    with pytest.raises(CellError, match="不是数字"):
        parse_price("三千")


# --- the import -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_good_import_registers_every_row_and_audits(world: World, company: Company, tmp_path: Path) -> None:
    result = import_devices(make_sheet(tmp_path / "d.xlsx"), actor=world.alice)

    assert (result.rows, result.created, result.updated, result.unchanged) == (3, 3, 0, 0)
    projector = Device.objects.get(serial="IMP-001")
    assert (projector.type, projector.school, str(projector.classroom), projector.integrator) == (
        "projector", world.school_a, "301", company)
    assert (projector.purchase_date, projector.warranty_end, projector.price) == (
        dt.date(2024, 3, 1), dt.date(2027, 3, 1), Decimal("3580.00"))
    panel = Device.objects.get(serial="IMP-002")
    assert (panel.type, panel.asset_tag, panel.price, panel.status) == ("flat_panel", "ZC-0002", Decimal("12800.50"), "in_use")
    pc = Device.objects.get(serial="IMP-003")
    assert (pc.school, pc.status, pc.asset_tag) == (world.school_a2, "spare", f"BBT{pc.pk:08d}")
    assert AuditEntry.objects.filter(action="create", object_type="devices.Device").count() == 3
    summary = AuditEntry.objects.get(action="import")
    assert summary.after["created"] == 3 and summary.actor == world.alice


@pytest.mark.django_db
def test_reimport_updates_in_place_without_duplicates(world: World, company: Company, tmp_path: Path) -> None:
    import_devices(make_sheet(tmp_path / "d.xlsx"), actor=world.alice)
    rows = [list(r) for r in ROWS]
    rows[0][10], rows[0][13] = 3200, "维修中"  # price and status of IMP-001
    rows[1][3:5] = ["", ""]  # blank brand and model: keep what is stored
    result = import_devices(make_sheet(tmp_path / "d2.xlsx", rows), actor=world.alice)

    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    assert Device.objects.count() == 3
    projector = Device.objects.get(serial="IMP-001")
    assert (projector.price, projector.status) == (Decimal("3200.00"), "repair")
    assert (Device.objects.get(serial="IMP-002").brand, Device.objects.get(serial="IMP-002").model) == ("希沃", "F86")
    update = AuditEntry.objects.get(action="update", object_type="devices.Device")
    assert update.before == {"price": "3580.00", "status": "in_use"}
    assert projector.events.filter(kind="更新").exists()


@pytest.mark.django_db
def test_bad_row_in_the_middle_writes_nothing_and_names_row_and_column(world: World, company: Company,
                                                                       tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS]
    # Excel row 4: 设备类型 (C) and 购置日期 (J) unreadable, and a negative 价格 (K) — all three reported at once.
    rows[1][2], rows[1][9], rows[1][10] = "全息仪", "明年", -1
    with pytest.raises(DevicesInvalid) as exc:
        import_devices(make_sheet(tmp_path / "d.xlsx", rows), actor=world.alice)

    errors = exc.value.row_errors
    assert [(e.row, e.letter, e.column) for e in errors] == [(4, "C", "设备类型"), (4, "J", "购置日期"), (4, "K", "价格")]
    assert str(errors[0]).startswith("第 4 行 C 列（设备类型）：未知的设备类型“全息仪”")
    assert Device.objects.count() == 0
    assert not AuditEntry.objects.filter(object_type="devices.Device").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "letter", "message"),
    [
        ({5: "IMP-001"}, "F", "序列号 IMP-001 与第 3 行重复"),
        ({0: "不存在小学"}, "A", "学校“不存在小学”不存在或不在您的管辖范围内"),
        ({0: "金川中心小学"}, "A", "学校“金川中心小学”不存在或不在您的管辖范围内"),
        ({1: "999"}, "B", "没有名为“999”的教室"),
        ({2: "无人机"}, "C", "未知的设备类型“无人机”"),
        ({9: "2024-05-01", 11: "2024-04-30"}, "L", "保修截止日期早于购置日期"),
        ({10: -100}, "K", "价格不能为负数"),
        ({11: "2024-13-01"}, "L", "不是有效的日期"),
        ({6: "ZC-0002"}, "G", "资产编号 ZC-0002 与第 4 行重复"),
        ({8: "不认识的公司"}, "I", "通讯录中没有集成商“不认识的公司”"),
        ({3: ""}, "D", "新登记的设备必须填写“品牌”"),
        ({13: "丢失"}, "N", "未知的设备状态“丢失”"),
    ],
)
def test_row_errors(world: World, company: Company, tmp_path: Path, change: dict[int, Any], letter: str,
                    message: str) -> None:
    rows = [list(r) for r in ROWS]
    row = list(rows[0])
    for index, value in change.items():
        row[index] = value
    rows.append(row if 5 in change else [*row[:5], "IMP-009", *row[6:]])
    with pytest.raises(DevicesInvalid) as exc:
        import_devices(make_sheet(tmp_path / "d.xlsx", rows), actor=world.alice)
    errors = exc.value.row_errors
    assert [(e.row, e.letter) for e in errors] == [(6, letter)], _errors(exc)
    assert message in errors[0].message
    assert Device.objects.count() == 0


@pytest.mark.django_db
def test_out_of_scope_school_and_device_are_refused(world: World, company: Company, tmp_path: Path) -> None:
    from banbantong.devices import services

    services.register_device(services.DeviceInput(school=world.school_b, type="projector", brand="爱普生",
                                                  model="CB-X06", serial="BOB-1"), actor=world.bob)
    rows = [ROWS[0], [*ROWS[0][:5], "BOB-1", *ROWS[0][6:]]]
    with pytest.raises(DevicesInvalid) as exc:
        import_devices(make_sheet(tmp_path / "d.xlsx", rows), actor=world.alice)
    assert _errors(exc) == ["第 4 行 F 列（序列号）：序列号 BOB-1 已登记在您管辖范围以外的学校，不能在这里修改；请核对序列号。"]
    # A device admin of school A may not import into the village school next door.
    with pytest.raises(DevicesInvalid) as exc:
        import_devices(make_sheet(tmp_path / "d2.xlsx"), actor=world.device_admin_a)
    assert _errors(exc) == ["第 5 行 A 列（学校名称）：学校“文峰村小”不存在或不在您的管辖范围内。"]
    assert not Device.objects.filter(serial__startswith="IMP").exists()
    assert Device.objects.get(serial="BOB-1").school == world.school_b


@pytest.mark.django_db
def test_who_may_import(world: World, tmp_path: Path) -> None:
    path = make_sheet(tmp_path / "d.xlsx", [ROWS[1]])
    for user in (world.teacher_user_a, world.auditor_a, world.integrator_a, world.reviewer_a):
        with pytest.raises(PermissionDenied):
            import_devices(path, actor=user)
    assert import_devices(path, actor=world.principal_a).created == 1


@pytest.mark.django_db
def test_chosen_school_fills_blank_cells_and_refuses_others(world: World, tmp_path: Path) -> None:
    rows = [["", "301", "投影仪", "明基", "MX", "S-1"], ["文峰村小", "", "投影仪", "明基", "MX", "S-2"]]
    with pytest.raises(DevicesInvalid) as exc:
        import_devices(make_sheet(tmp_path / "d.xlsx", rows), actor=world.alice, school=world.school_a)
    assert _errors(exc) == ["第 4 行 A 列（学校名称）：本次导入限定为“文峰中心小学”，这一行却是“文峰村小”。"]
    result = import_devices(make_sheet(tmp_path / "d.xlsx", rows[:1], header=HEADER[:6]), actor=world.device_admin_a,
                            school=world.school_a)
    assert result.created == 1 and Device.objects.get(serial="S-1").school == world.school_a
    with pytest.raises(PermissionDenied):
        import_devices(make_sheet(tmp_path / "d.xlsx", rows[:1]), actor=world.bob, school=world.school_a)


@pytest.mark.django_db
def test_not_excel_empty_and_headless_files(world: World, tmp_path: Path) -> None:
    fake = tmp_path / "fake.xlsx"
    fake.write_text("序列号,品牌\n1,2\n", encoding="utf-8")
    empty = tmp_path / "empty.xlsx"
    Workbook().save(empty)
    for path, message in ((fake, NOT_EXCEL), (empty, EMPTY), (make_sheet(tmp_path / "h.xlsx", []), NO_DATA)):
        with pytest.raises(DevicesInvalid) as exc:
            import_devices(path, actor=world.alice)
        assert [e.message for e in exc.value.row_errors] == [message]
    with pytest.raises(DevicesInvalid, match="错误") as exc:
        import_devices(make_sheet(tmp_path / "m.xlsx", [["文峰中心小学", "投影仪", "S-1"]],
                                  header=["学校名称", "设备类型", "序列号"]), actor=world.alice)
    assert [str(e) for e in exc.value.row_errors] == ["第 2 行 “品牌”列：第 2 行的表头缺少“品牌”列。",
                                                      "第 2 行 “型号”列：第 2 行的表头缺少“型号”列。"]


# --- command line -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_bbt_import_devices(world: World, company: Company, tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("import", "devices", str(make_sheet(tmp_path / "d.xlsx")), "--dry-run", stdout=out, stderr=err)
    assert "检查通过" in out.getvalue() and Device.objects.count() == 0
    call_command("import", "devices", str(make_sheet(tmp_path / "d.xlsx")), stdout=out, stderr=err)
    assert "新登记设备：3" in out.getvalue() and Device.objects.count() == 3

    rows = [["", "", "投影仪", "明基", "MX", "S-1", "", "", "", "", -1]]
    report = tmp_path / "errors.xlsx"
    with pytest.raises(CommandError, match="1 处错误"):
        call_command("import", "devices", str(make_sheet(tmp_path / "bad.xlsx", rows)), "--school", "文峰中心小学",
                     "--report", str(report), stdout=out, stderr=err)
    assert "第 3 行 K 列（价格）：价格不能为负数。" in err.getvalue()
    assert [c.value for c in load_workbook(report).active[2]] == [3, "K", "价格", "价格不能为负数。"]
    with pytest.raises(CommandError, match="学校“无名小学”不存在"):
        call_command("import", "devices", str(make_sheet(tmp_path / "bad.xlsx", rows)), "--school", "无名小学")


# --- pages ---------------------------------------------------------------------------------------


def _upload(client: Client, path: Path, **extra: str) -> Any:
    upload = SimpleUploadedFile(path.name, path.read_bytes())
    return client.post("/devices/import/", {"file": upload, **extra})


@pytest.mark.django_db
def test_upload_preview_confirm(world: World, company: Company, client: Client, tmp_path: Path) -> None:
    client.force_login(world.alice)
    response = _upload(client, make_sheet(tmp_path / "设备.xlsx"))
    assert response.status_code == 302
    preview = response["Location"]
    page = client.get(preview).content.decode()
    assert "检查通过" in page and "新登记设备" in page and Device.objects.count() == 0
    # Someone else's upload token is not theirs to see or confirm.
    other = Client()
    other.force_login(world.bob)
    assert other.get(preview).status_code == 404
    assert other.post(preview).status_code == 404
    response = client.post(preview, follow=True)
    assert "新登记 3 台" in response.content.decode() and Device.objects.count() == 3
    assert client.get(preview).status_code == 404  # used up


@pytest.mark.django_db
def test_preview_lists_errors_and_confirm_writes_nothing(world: World, company: Company, client: Client,
                                                         tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS]
    rows[1][10] = -3
    client.force_login(world.device_admin_a)
    preview = _upload(client, make_sheet(tmp_path / "d.xlsx", rows), school="文峰中心小学")["Location"]
    page = client.get(preview).content.decode()
    assert "发现 2 处错误" in page and "价格不能为负数" in page and "文峰村小" in page
    assert "确认导入" not in page
    client.post(preview)
    assert Device.objects.count() == 0


@pytest.mark.django_db
def test_upload_page_checks(world: World, client: Client, tmp_path: Path) -> None:
    client.force_login(world.teacher_user_a)
    assert client.get("/devices/import/").status_code == 403
    client.force_login(world.device_admin_a)
    page = client.get("/devices/import/").content.decode()
    assert 'value="文峰中心小学"' in page  # their own school, ready
    csv = tmp_path / "d.csv"
    csv.write_text("a,b")
    assert "请上传 Excel 文件" in _upload(client, csv).content.decode()
    assert "请选择要上传的设备表文件" in client.post("/devices/import/", {}).content.decode()
    response = _upload(client, make_sheet(tmp_path / "d.xlsx"), school="金川中心小学")
    assert "不存在或不在您的管辖范围内" in response.content.decode()


@pytest.mark.django_db
def test_template_download(world: World, client: Client) -> None:
    client.force_login(world.device_admin_a)
    response = client.get("/devices/import/template.xlsx")
    wb = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert [c.value for c in wb.worksheets[0][1]] == HEADER
    assert wb.sheetnames == ["设备", "填写说明"]
