"""Survey (调查表) import: the service, the `bbt import survey` command and the web pages."""

from __future__ import annotations

import datetime as dt
import io
import re
import resource
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from banbantong.accounts.models import User
from banbantong.core.models import AuditEntry
from banbantong.org.models import ClassStatusChange, Region, School, TeachingClass
from banbantong.org.services import ensure_region, refresh_school_counts
from banbantong.org.survey.parse import EMPTY_WORKBOOK, NO_HEADER, NOT_EXCEL
from banbantong.org.survey.service import SurveyInvalid, import_survey
from banbantong.planning.models import TerminalMode

HEADER = ["区县", "乡镇", "学校名称", "学校类型", "年级", "班级", "学生数", "班班通模式", "建设状态", "建成年份"]
ROWS: list[list[Any]] = [
    ["吉水县", "八都镇", "八都中心小学", "中心小学", "一年级", "1班", 45, "液晶电视+电脑+网络", "已建", 2015],
    ["吉水县", "八都镇", "八都中心小学", "中心小学", "一年级", "2班", 44, None, "未建", None],
    ["吉水县", "八都镇", "八都中心小学", "中心小学", "五年级", "1班", 50, "投影仪+电脑+网络", "在建", None],
    ["吉水县", "八都镇", "罗坑村小", "村小", "二年级", "1班", 12, None, None, None],
    ["", "文峰镇", "吉水县第二中学", "县城初中", "初一", "1班", 55, "一体机", "已验收", 2018],
]


def make_survey(path: Path, rows: Sequence[Sequence[Any]] = ROWS, *, header: Sequence[str] = HEADER,
                above: Sequence[Sequence[Any]] = ()) -> Path:
    wb = Workbook()
    ws = wb.active
    for line in above:
        ws.append(list(line))
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    wb.save(path)
    return path


@pytest.fixture
def county() -> Region:
    return ensure_region("吉水县", level=Region.Level.COUNTY, parent=None, actor=None)[0]


def _errors(exc: pytest.ExceptionInfo[SurveyInvalid]) -> list[str]:
    return [str(e) for e in exc.value.row_errors]


# --- reading bureau spreadsheets -------------------------------------------------------------


@pytest.mark.django_db
def test_import_creates_towns_schools_and_classes(county: Region, tmp_path: Path) -> None:
    result = import_survey(make_survey(tmp_path / "s.xlsx"), region="吉水县", actor=None)

    assert (result.regions_created, result.schools_created, result.classes_created) == (2, 3, 5)
    badu = Region.objects.get(name="八都镇")
    assert (badu.parent, badu.level) == (county, Region.Level.TOWN)
    school = School.objects.get(name="八都中心小学")
    assert (school.region, school.kind, school.is_rural, school.region_path) == (
        badu, School.Kind.CENTRAL_PRIMARY, True, badu.path
    )
    assert not School.objects.get(name="吉水县第二中学").is_rural
    first = TeachingClass.objects.get(school=school, grade=1, name="1班")
    assert (first.pupils, first.status, first.built_year, first.mode.code) == (45, "built", 2015, "lcd_pc")
    assert first.status_changed_on == dt.date(2015, 12, 31)
    assert TeachingClass.objects.get(school__name="吉水县第二中学").grade == 7
    assert TeachingClass.objects.get(school__name="罗坑村小").status == TeachingClass.Status.NOT_BUILT
    # History: built ones dated to the end of their year, others today, none for 未建.
    history = {(c.klass.school.name, c.klass.grade, c.klass.name): (c.old_status, c.new_status, c.changed_on)
               for c in ClassStatusChange.objects.select_related("klass__school")}
    assert history == {
        ("八都中心小学", 1, "1班"): ("", "built", dt.date(2015, 12, 31)),
        ("八都中心小学", 5, "1班"): ("", "building", timezone.localdate()),
        ("吉水县第二中学", 7, "1班"): ("", "accepted", dt.date(2018, 12, 31)),
    }


@pytest.mark.django_db
def test_title_rows_and_merged_cells(county: Region, tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws["A1"] = "吉水县中小学班班通建设情况调查表"
    ws.merge_cells("A1:J1")
    ws["A2"] = "填报单位（盖章）：吉水县教育局"
    ws.merge_cells("A2:E2")
    ws["G2"] = "填报日期：2025年9月1日"
    ws.append([])
    ws.append(HEADER)  # row 4
    ws.append(["", "八都镇", "八都中心小学", "中心小学", "一年级", "1班", 45, None, "未建", None])
    ws.append(["", "", "", "", "一年级", "2班", 44, None, "未建", None])
    ws.append(["", "", "", "", "二年级", "1班", 43, None, "未建", None])
    ws.append(["", "", "罗坑村小", "村小", "一年级", "1班", 12, None, "未建", None])
    # Town merged down over all four class rows, school name and kind over its three.
    ws.merge_cells("B5:B8")
    ws.merge_cells("C5:C7")
    ws.merge_cells("D5:D7")
    ws.append(["合计", "", "", "", "", "", 144, None, None, None])
    ws.append(["填表人：张三", "", "", "", "", "", "", None, None, None])
    wb.save(tmp_path / "merged.xlsx")

    result = import_survey(tmp_path / "merged.xlsx", region="吉水县", actor=None)

    assert (result.rows, result.schools_created, result.classes_created) == (4, 2, 4)
    assert TeachingClass.objects.filter(school__name="八都中心小学").count() == 3
    assert School.objects.get(name="罗坑村小").region.name == "八都镇"


@pytest.mark.django_db
def test_shuffled_and_variant_headers(county: Region, tmp_path: Path) -> None:
    header = ["学生人数", " 班级名称 ", "学校", "县（区）", "建成时间", "类型", "状态", "乡镇(街道)", "年 级", "模式", "备注"]
    rows = [[r[6], r[5], r[2], r[0], r[9], r[3], r[8], r[1], r[4], r[7], "x"] for r in ROWS]
    result = import_survey(make_survey(tmp_path / "v.xlsx", rows, header=header), region="吉水县", actor=None)

    assert (result.schools_created, result.classes_created) == (3, 5)
    assert TeachingClass.objects.get(school__name="八都中心小学", grade=5).mode.code == "projector_pc"


@pytest.mark.django_db
def test_full_width_digits_and_letters(county: Region, tmp_path: Path) -> None:
    rows = [["吉水县", "八都镇", "八都中心小学", "中心小学", "３", "１班", "４５", "ＴＶ＋ＤＶＤ", "已建", "２０１６"]]
    import_survey(make_survey(tmp_path / "fw.xlsx", rows), region="吉水县", actor=None)

    klass = TeachingClass.objects.get()
    assert (klass.grade, klass.name, klass.pupils, klass.mode.code, klass.built_year) == (3, "1班", 45, "tv_dvd", 2016)


@pytest.mark.django_db
def test_bad_row_in_the_middle_writes_nothing_and_names_row_and_column(tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS]
    rows[2][6] = "五十"  # Excel row 4 (the header is row 1), column G
    path = make_survey(tmp_path / "bad.xlsx", rows)
    regions_before = Region.objects.count()

    with pytest.raises(SurveyInvalid) as exc:
        import_survey(path, region="吉水县", actor=None)

    [error] = exc.value.row_errors
    assert (error.row, error.letter, error.column) == (4, "G", "学生数")
    assert "五十" in error.message and "整数" in error.message
    assert "第 4 行 G 列（学生数）" in str(error)
    # Not even the new top region: all or nothing.
    assert Region.objects.count() == regions_before
    assert not School.objects.exists() and not TeachingClass.objects.exists()


@pytest.mark.django_db
def test_columns_are_named_as_excel_shows_them_when_the_table_starts_further_right(
    county: Region, tmp_path: Path
) -> None:
    wb = Workbook()
    ws = wb.active
    ws["C2"] = "吉水县调查表"
    ws.merge_cells("C2:F2")
    for r, line in enumerate([HEADER, ROWS[0], ROWS[1]], start=4):
        for c, value in enumerate(line, start=3):  # the table starts in column C, row 4
            ws.cell(row=r, column=c, value=value)
    ws.cell(row=6, column=9, value="二十")  # pupils of the second class
    wb.save(tmp_path / "offset.xlsx")
    with pytest.raises(SurveyInvalid) as exc:
        import_survey(tmp_path / "offset.xlsx", region="吉水县", actor=None)
    assert [(e.row, e.letter, e.column) for e in exc.value.row_errors] == [(6, "I", "学生数")]


@pytest.mark.django_db
def test_every_bad_row_is_reported(county: Region, tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS]
    rows[0][3] = "培训学校"  # unknown kind
    rows[1][8] = "差不多"  # unknown status
    rows[2][7] = "黑板"  # unknown mode
    rows[3][6] = 250  # absurd
    rows[4][6] = -3
    rows.append(list(ROWS[1]))  # duplicate class
    rows.append(["", "八都镇", "", "村小", "一年级", "1班", 20, None, None, None])  # no school name
    with pytest.raises(SurveyInvalid) as exc:
        import_survey(make_survey(tmp_path / "bad.xlsx", rows), region="吉水县", actor=None)

    found = {(e.row, e.letter) for e in exc.value.row_errors}
    assert {(2, "D"), (3, "I"), (4, "H"), (5, "G"), (6, "G"), (7, "F"), (8, "C")} <= found
    messages = " ".join(_errors(exc))
    assert "与第 3 行重复" in messages and "超过 200" in messages and "负数" in messages
    assert not TeachingClass.objects.exists()


@pytest.mark.django_db
def test_repeated_headers_totals_and_notes_are_skipped(county: Region, tmp_path: Path) -> None:
    rows = [
        ROWS[0], ROWS[1],
        ["", "", "小计", "", "", "", 89, None, None, None],
        HEADER,  # a printed form repeats its header on each page
        ROWS[2],
        [],
        ["说明：学生数按9月1日在籍人数填写。"],
    ]
    result = import_survey(make_survey(tmp_path / "t.xlsx", rows), region="吉水县", actor=None)
    assert (result.rows, result.classes_created) == (3, 3)


@pytest.mark.django_db
def test_a_true_cell_is_not_the_number_one(county: Region, tmp_path: Path) -> None:
    rows = [list(ROWS[0]), list(ROWS[1])]
    rows[0][6], rows[1][6] = 1, True
    with pytest.raises(SurveyInvalid) as exc:
        import_survey(make_survey(tmp_path / "b.xlsx", rows), region="吉水县", actor=None)
    assert [(e.row, e.letter) for e in exc.value.row_errors] == [(3, "G")]
    assert "TRUE" in exc.value.row_errors[0].message


@pytest.mark.django_db
def test_reimport_updates_in_place(county: Region, tmp_path: Path) -> None:
    import_survey(make_survey(tmp_path / "a.xlsx"), region="吉水县", actor=None)
    changes_before = ClassStatusChange.objects.count()
    rows = [list(r) for r in ROWS]
    rows[1][6] = 46  # pupils changed
    rows[1][8] = "在建"  # 未建 -> 在建
    rows[3][4:6] = ["2", "(1)班"]  # the same class, spelled differently
    rows[4][0] = "吉水县"  # 区县 now filled with the county's own name

    result = import_survey(make_survey(tmp_path / "b.xlsx", rows), region="吉水县", actor=None)

    assert (result.schools_created, result.classes_created, result.regions_created) == (0, 0, 0)
    assert (result.classes_updated, result.classes_unchanged, result.status_changes) == (1, 4, 1)
    assert School.objects.count() == 3 and TeachingClass.objects.count() == 5
    second = TeachingClass.objects.get(school__name="八都中心小学", grade=1, name="2班")
    assert (second.pupils, second.status) == (46, TeachingClass.Status.BUILDING)
    change = ClassStatusChange.objects.order_by("-id").first()
    assert ClassStatusChange.objects.count() == changes_before + 1
    assert (change.klass, change.old_status, change.new_status) == (second, "not_built", "building")
    assert change.changed_on == timezone.localdate() and change.reason == "调查表导入：b.xlsx"


def _rollups() -> dict[str, tuple[int, int, int]]:
    return {s.name: (s.class_count, s.built_count, s.pupil_count) for s in School.objects.all()}


@pytest.mark.django_db
def test_school_rollups_follow_the_import(county: Region, tmp_path: Path) -> None:
    import_survey(make_survey(tmp_path / "a.xlsx"), region="吉水县", actor=None)
    assert _rollups() == {"八都中心小学": (3, 1, 139), "罗坑村小": (1, 0, 12), "吉水县第二中学": (1, 1, 55)}

    rows = [list(r) for r in ROWS]
    rows[1][8] = "已建"  # a second built class
    rows.append(["", "八都镇", "罗坑村小", "村小", "三年级", "1班", 9, None, None, None])  # a new class
    import_survey(make_survey(tmp_path / "b.xlsx", rows), region="吉水县", actor=None)
    assert _rollups() == {"八都中心小学": (3, 2, 139), "罗坑村小": (2, 0, 21), "吉水县第二中学": (1, 1, 55)}

    # The same figures the registry's own recount gives.
    before = _rollups()
    refresh_school_counts(School.objects.values_list("id", flat=True))
    assert _rollups() == before


@pytest.mark.django_db
def test_reimport_may_not_move_a_status_backwards(county: Region, tmp_path: Path) -> None:
    import_survey(make_survey(tmp_path / "a.xlsx"), region="吉水县", actor=None)
    rows = [list(r) for r in ROWS]
    rows[0][8], rows[0][9] = "未建", None
    with pytest.raises(SurveyInvalid) as exc:
        import_survey(make_survey(tmp_path / "b.xlsx", rows), region="吉水县", actor=None)
    assert "退回" in _errors(exc)[0] and exc.value.row_errors[0].row == 2
    assert TeachingClass.objects.get(school__name="八都中心小学", grade=1, name="1班").status == "built"


@pytest.mark.django_db
def test_one_audit_entry_per_import(county: Region, tmp_path: Path) -> None:
    before = AuditEntry.objects.filter(action=AuditEntry.Action.IMPORT).count()
    result = import_survey(make_survey(tmp_path / "s.xlsx"), region="吉水县", actor=None, file_name="调查表.xlsx")

    entry = AuditEntry.objects.filter(action=AuditEntry.Action.IMPORT).get()
    assert before == 0
    assert entry.region_path == county.path
    assert entry.after["schools_created"] == 3 and entry.after["classes_created"] == 5
    assert entry.after["file"] == "调查表.xlsx" and entry.after["sha256"] == result.sha256 and len(result.sha256) == 64


@pytest.mark.django_db
def test_dry_run_counts_but_writes_nothing(tmp_path: Path) -> None:
    result = import_survey(make_survey(tmp_path / "s.xlsx"), region="吉水县", actor=None, dry_run=True)
    assert (result.regions_created, result.schools_created, result.classes_created) == (3, 3, 5)
    assert not Region.objects.exists() and not School.objects.exists()


@pytest.mark.django_db
def test_city_survey_places_counties_under_the_city(tmp_path: Path) -> None:
    rows = [
        ["渝水区", "城北街道", "新余市第一小学", "城区小学", "一年级", "1班", 50, None, "已建", 2014],
        ["分宜县", "钤山镇", "钤山中心小学", "中心小学", "一年级", "1班", 40, None, "未建", None],
        ["", "", "新余市第四中学", "市直学校", "初二", "3班", 52, None, None, None],
    ]
    import_survey(make_survey(tmp_path / "city.xlsx", rows), region="新余市", actor=None)

    city = Region.objects.get(name="新余市", parent=None)
    assert city.level == Region.Level.CITY
    assert Region.objects.get(name="渝水区").parent == city
    assert Region.objects.get(name="钤山镇").parent.name == "分宜县"
    assert School.objects.get(name="新余市第四中学").region == city


@pytest.mark.django_db
def test_county_survey_refuses_another_county(county: Region, tmp_path: Path) -> None:
    rows = [["永丰县", "佐龙乡", "佐龙小学", "村小", "一年级", "1班", 20, None, None, None]]
    with pytest.raises(SurveyInvalid) as exc:
        import_survey(make_survey(tmp_path / "x.xlsx", rows), region="吉水县", actor=None)
    assert exc.value.row_errors[0].letter == "A" and "永丰县" in exc.value.row_errors[0].message


@pytest.mark.django_db
def test_empty_sheet(county: Region, tmp_path: Path) -> None:
    Workbook().save(tmp_path / "empty.xlsx")
    with pytest.raises(SurveyInvalid) as exc:
        import_survey(tmp_path / "empty.xlsx", region="吉水县", actor=None)
    assert _errors(exc) == [EMPTY_WORKBOOK]


@pytest.mark.django_db
def test_header_without_data_rows(county: Region, tmp_path: Path) -> None:
    with pytest.raises(SurveyInvalid, match="错误") as exc:
        import_survey(make_survey(tmp_path / "h.xlsx", []), region="吉水县", actor=None)
    assert "没有数据行" in _errors(exc)[0]


@pytest.mark.django_db
def test_non_excel_file_renamed_xlsx(county: Region, tmp_path: Path) -> None:
    (tmp_path / "fake.xlsx").write_text("区县,乡镇,学校名称\n吉水县,八都镇,八都小学\n", encoding="utf-8")
    with pytest.raises(SurveyInvalid) as exc:
        import_survey(tmp_path / "fake.xlsx", region="吉水县", actor=None)
    assert _errors(exc) == [NOT_EXCEL]


@pytest.mark.django_db
def test_zip_that_is_not_a_workbook(county: Region, tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "z.xlsx", "w") as z:
        z.writestr("readme.txt", "not a workbook")
    with pytest.raises(SurveyInvalid) as exc:
        import_survey(tmp_path / "z.xlsx", region="吉水县", actor=None)
    assert _errors(exc) == [NOT_EXCEL]


@pytest.mark.django_db
def test_sheet_without_a_recognisable_header(county: Region, tmp_path: Path) -> None:
    make_survey(tmp_path / "n.xlsx", [["张三", 1, 2]], header=["姓名", "语文", "数学"])
    with pytest.raises(SurveyInvalid) as exc:
        import_survey(tmp_path / "n.xlsx", region="吉水县", actor=None)
    assert _errors(exc) == [NO_HEADER]


@pytest.mark.django_db
def test_missing_required_column_is_named(county: Region, tmp_path: Path) -> None:
    header = [h for h in HEADER if h != "学生数"]
    rows = [r[:6] + r[7:] for r in ROWS]
    with pytest.raises(SurveyInvalid) as exc:
        import_survey(make_survey(tmp_path / "m.xlsx", rows, header=header), region="吉水县", actor=None)
    assert "缺少“学生数”列" in _errors(exc)[0]


@pytest.mark.django_db
def test_instructions_sheet_before_the_survey_is_skipped(county: Region, tmp_path: Path) -> None:
    wb = Workbook()
    wb.active.title = "填表说明"
    wb.active.append(["请每个教学班填一行。"])
    data = wb.create_sheet("调查表")
    data.append(HEADER)
    for row in ROWS:
        data.append(row)
    wb.save(tmp_path / "two.xlsx")
    assert import_survey(tmp_path / "two.xlsx", region="吉水县", actor=None).classes_created == 5


def _claim_huge_dimension(src: Path, dest: Path) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data, n = re.subn(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:Z1048576"/>', data)
                assert n == 1
            zout.writestr(item, data)


@pytest.mark.django_db
def test_sheet_claiming_a_million_row_dimension(county: Region, tmp_path: Path) -> None:
    _claim_huge_dimension(make_survey(tmp_path / "small.xlsx"), tmp_path / "huge.xlsx")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()

    result = import_survey(tmp_path / "huge.xlsx", region="吉水县", actor=None)

    assert time.monotonic() - started < 5
    # A dense 26 x 1,048,576 grid would cost hundreds of MB; the claim must not be believed.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 100 * 1024
    assert result.classes_created == 5


@pytest.mark.django_db
def test_region_modes_override_the_defaults(county: Region, tmp_path: Path) -> None:
    TerminalMode.objects.create(region=county, code="jishui_panel", name="吉水一体机", aliases="一体机")
    import_survey(make_survey(tmp_path / "s.xlsx"), region="吉水县", actor=None)
    assert TeachingClass.objects.get(school__name="吉水县第二中学").mode.code == "jishui_panel"


# --- who may import --------------------------------------------------------------------------


@pytest.mark.django_db
def test_bureau_admin_imports_within_scope_only(county: Region, tmp_path: Path) -> None:
    path = make_survey(tmp_path / "s.xlsx")
    other = ensure_region("永丰县", level=Region.Level.COUNTY, parent=None, actor=None)[0]
    alice = User.objects.create_user(username="alice", password="x", role=User.Role.BUREAU_ADMIN, region=county)
    bob = User.objects.create_user(username="bob", password="x", role=User.Role.BUREAU_ADMIN, region=other)

    with pytest.raises(PermissionDenied):
        import_survey(path, region="吉水县", actor=bob)
    with pytest.raises(PermissionDenied):
        import_survey(path, region=county, actor=bob)
    with pytest.raises(PermissionDenied):
        import_survey(path, region="新建县", actor=alice)  # only the system creates top regions
    assert not School.objects.exists()

    import_survey(path, region="吉水县", actor=alice)
    assert ClassStatusChange.objects.filter(actor=alice).exists()
    assert AuditEntry.objects.get(action=AuditEntry.Action.IMPORT).actor == alice


@pytest.mark.django_db
def test_school_admin_may_not_import(county: Region, tmp_path: Path) -> None:
    school = School.objects.create(region=county, name="某校", kind=School.Kind.VILLAGE_PRIMARY)
    carol = User.objects.create_user(username="carol", password="x", role=User.Role.SCHOOL_ADMIN, school=school)
    with pytest.raises(PermissionDenied):
        import_survey(make_survey(tmp_path / "s.xlsx"), region=county, actor=carol)


# --- the command line ------------------------------------------------------------------------


@pytest.mark.django_db
def test_command_imports_and_reports_counts(tmp_path: Path) -> None:
    out = io.StringIO()
    call_command("import", "survey", str(make_survey(tmp_path / "s.xlsx")), "--region", "吉水县", stdout=out)
    assert "导入完成" in out.getvalue() and "新建教学班：5" in out.getvalue()
    assert Region.objects.get(name="吉水县", parent=None).level == Region.Level.COUNTY


@pytest.mark.django_db
def test_command_exits_non_zero_on_bad_input(tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS]
    rows[2][4] = "十三年级"
    report = tmp_path / "errors.xlsx"
    err = io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("import", "survey", str(make_survey(tmp_path / "s.xlsx", rows)), "--region", "吉水县",
                     "--report", str(report), stderr=err)
    assert exc.value.returncode == 1  # what `bbt` exits with
    assert "第 4 行 E 列（年级）" in err.getvalue()
    assert not Region.objects.filter(name="吉水县").exists()
    sheet = load_workbook(report).active
    assert [c.value for c in sheet[1]] == ["行号", "列", "列名", "错误说明"]
    assert [c.value for c in sheet[2]][:3] == [4, "E", "年级"]


@pytest.mark.django_db
def test_command_rejects_unknown_kind(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="未知的导入类型“robots”"):
        call_command("import", "robots", str(make_survey(tmp_path / "s.xlsx")), "--region", "吉水县")


@pytest.mark.django_db
def test_command_dry_run(tmp_path: Path) -> None:
    out = io.StringIO()
    call_command("import", "survey", str(make_survey(tmp_path / "s.xlsx")), "--region", "吉水县", "--dry-run",
                 stdout=out)
    assert "试运行" in out.getvalue() and not Region.objects.exists()


# --- the web pages ---------------------------------------------------------------------------


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path / "media" / "imports"


def _upload(client: Any, region: Region, path: Path) -> Any:
    with open(path, "rb") as fh:
        return client.post(reverse("org:survey_upload"), {"region": region.pk, "file": fh})


@pytest.mark.django_db
def test_bureau_admin_uploads_previews_and_confirms(client: Any, county: Region, tmp_path: Path, media: Path) -> None:
    alice = User.objects.create_user(username="alice", password="x", role=User.Role.BUREAU_ADMIN, region=county)
    client.force_login(alice)
    assert client.get(reverse("org:survey_upload")).status_code == 200

    response = _upload(client, county, make_survey(tmp_path / "调查表.xlsx"))
    assert response.status_code == 302
    preview_url = response["Location"]
    assert len(list(media.iterdir())) == 1

    page = client.get(preview_url)
    assert page.status_code == 200
    assert "确认导入" in page.content.decode() and not School.objects.exists()

    done = client.post(preview_url)
    assert done.status_code == 302 and done["Location"] == reverse("org:region_detail", args=[county.pk])
    assert TeachingClass.objects.count() == 5
    assert list(media.iterdir()) == []  # the upload is gone once imported
    assert client.get(preview_url).status_code == 404


@pytest.mark.django_db
def test_preview_lists_errors_and_offers_the_workbook(client: Any, county: Region, tmp_path: Path,
                                                      media: Path) -> None:
    alice = User.objects.create_user(username="alice", password="x", role=User.Role.BUREAU_ADMIN, region=county)
    client.force_login(alice)
    rows = [list(r) for r in ROWS]
    rows[1][6] = "=1+1"
    preview_url = _upload(client, county, make_survey(tmp_path / "s.xlsx", rows))["Location"]

    page = client.get(preview_url).content.decode()
    assert "发现 1 处错误" in page and "确认导入" not in page

    response = client.get(preview_url + "errors.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    row = [c.value for c in sheet[2]]
    assert row[:3] == [3, "G", "学生数"]

    # Confirming a bad file still writes nothing.
    assert client.post(preview_url).status_code == 200
    assert not School.objects.exists()


@pytest.mark.django_db
def test_school_admin_gets_403(client: Any, county: Region, tmp_path: Path, media: Path) -> None:
    school = School.objects.create(region=county, name="某校", kind=School.Kind.VILLAGE_PRIMARY)
    carol = User.objects.create_user(username="carol", password="x", role=User.Role.SCHOOL_ADMIN, school=school)
    client.force_login(carol)
    assert client.get(reverse("org:survey_upload")).status_code == 403
    assert _upload(client, county, make_survey(tmp_path / "s.xlsx")).status_code == 403
    assert not media.exists()


@pytest.mark.django_db
def test_out_of_scope_bureau_admin_gets_404(client: Any, county: Region, tmp_path: Path, media: Path) -> None:
    other = ensure_region("永丰县", level=Region.Level.COUNTY, parent=None, actor=None)[0]
    alice = User.objects.create_user(username="alice", password="x", role=User.Role.BUREAU_ADMIN, region=county)
    bob = User.objects.create_user(username="bob", password="x", role=User.Role.BUREAU_ADMIN, region=other)

    client.force_login(bob)
    assert _upload(client, county, make_survey(tmp_path / "s.xlsx")).status_code == 404
    assert AuditEntry.objects.filter(action=AuditEntry.Action.DENIED, actor=bob).exists()

    # Nor can bob use alice's upload.
    client.force_login(alice)
    preview_url = _upload(client, county, make_survey(tmp_path / "s.xlsx"))["Location"]
    client.force_login(bob)
    assert client.get(preview_url).status_code == 404
    assert client.post(preview_url).status_code == 404
    assert client.get(preview_url + "errors.xlsx").status_code == 404
    assert not School.objects.exists()


@pytest.mark.django_db
def test_upload_limits(client: Any, county: Region, tmp_path: Path, media: Path, settings: Any) -> None:
    alice = User.objects.create_user(username="alice", password="x", role=User.Role.BUREAU_ADMIN, region=county)
    client.force_login(alice)
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    page = _upload(client, county, tmp_path / "notes.txt")
    assert page.status_code == 200 and "请上传 Excel 文件" in page.content.decode()

    settings.BBT_IMPORT_MAX_BYTES = 1024
    page = _upload(client, county, make_survey(tmp_path / "s.xlsx"))
    assert page.status_code == 200 and "文件超过" in page.content.decode()
    assert not media.exists() or list(media.iterdir()) == []
