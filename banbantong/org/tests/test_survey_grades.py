"""The survey's pure rules: how grades, classes, pupils, kinds, statuses and headers are read."""

from __future__ import annotations

import datetime as dt

import pytest

from banbantong.org.models import Region, School, TeachingClass
from banbantong.org.survey.parse import ClassEntry
from banbantong.org.survey.rules import (
    MAX_PUPILS,
    CellError,
    StoredClass,
    find_header,
    first_status,
    guess_region_level,
    is_total_row,
    match_header,
    parse_built_year,
    parse_class_name,
    parse_grade_cell,
    parse_kind,
    parse_pupils,
    parse_status,
    updated_class,
)

TODAY = dt.date(2025, 9, 1)


@pytest.mark.parametrize(
    ("cell", "grade"),
    [
        ("一年级", 1), ("六年级", 6), ("初一", 7), ("七年级", 7), ("初三", 9), ("九年级", 9),
        ("高二", 11), ("高中二年级", 11), ("初中一年级", 7), ("小学三年级", 3),
        ("3", 3), ("３", 3), (" 5 ", 5), (4.0, 4), (12, 12), ("７年级", 7),
    ],
)
def test_grade_names_and_numbers(cell: object, grade: int) -> None:
    assert parse_grade_cell(cell) == grade


@pytest.mark.parametrize("cell", ["十三年级", "0", "13", "学前班", "高四", 2.5, True])
def test_unknown_grades_say_how_to_write_them(cell: object) -> None:
    with pytest.raises(CellError) as exc:
        parse_grade_cell(cell)
    assert "年级" in exc.value.message


def test_blank_grade_is_named() -> None:
    with pytest.raises(CellError, match="年级不能为空"):
        parse_grade_cell("  ")


@pytest.mark.parametrize(
    ("cell", "name"),
    [("1班", "1班"), ("1", "1班"), (1.0, "1班"), ("１班", "1班"), ("(1)班", "1班"), ("（2）班", "2班"),
     ("01班", "1班"), ("实验班", "实验班"), (" 火箭  班 ", "火箭 班")],
)
def test_class_names_fold_to_one_spelling(cell: object, name: str) -> None:
    # Re-imports must find the same class however the clerk typed its number this year.
    assert parse_class_name(cell) == name


@pytest.mark.parametrize(("cell", "pupils"), [(45, 45), (45.0, 45), ("45", 45), ("４５", 45), ("45人", 45), (0, 0)])
def test_pupils_read_as_whole_numbers(cell: object, pupils: int) -> None:
    assert parse_pupils(cell) == pupils


@pytest.mark.parametrize(
    ("cell", "words"),
    [(-1, "负数"), (45.5, "整数"), ("四十", "不是数字"), ("", "不能为空"), (MAX_PUPILS + 1, "超过"), (True, "整数")],
)
def test_bad_pupil_counts_are_explained(cell: object, words: str) -> None:
    with pytest.raises(CellError) as exc:
        parse_pupils(cell)
    assert words in exc.value.message


@pytest.mark.parametrize(
    ("label", "kind"),
    [("教学点", School.Kind.TEACHING_POINT), ("村小", School.Kind.VILLAGE_PRIMARY),
     ("村级小学", School.Kind.VILLAGE_PRIMARY), ("中心校", School.Kind.CENTRAL_PRIMARY),
     ("中心小学", School.Kind.CENTRAL_PRIMARY), ("乡镇初中", School.Kind.RURAL_JUNIOR),
     ("农村初中", School.Kind.RURAL_JUNIOR), ("县城小学", School.Kind.URBAN_PRIMARY),
     ("城区初中", School.Kind.URBAN_JUNIOR), ("市直学校", School.Kind.CITY_DIRECT),
     ("城区/县城高中", School.Kind.URBAN_SENIOR), ("village_primary", School.Kind.VILLAGE_PRIMARY)],
)
def test_school_kind_labels(label: str, kind: str) -> None:
    assert parse_kind(label) == kind


def test_unknown_kind_lists_the_allowed_ones() -> None:
    with pytest.raises(CellError) as exc:
        parse_kind("培训机构")
    assert "培训机构" in exc.value.message and "教学点" in exc.value.message


@pytest.mark.parametrize(
    ("label", "status"),
    [("未建", TeachingClass.Status.NOT_BUILT), ("已规划", TeachingClass.Status.PLANNED),
     ("在建", TeachingClass.Status.BUILDING), ("已建", TeachingClass.Status.BUILT),
     ("已建成", TeachingClass.Status.BUILT), ("已验收", TeachingClass.Status.ACCEPTED),
     ("是", TeachingClass.Status.BUILT), ("否", TeachingClass.Status.NOT_BUILT), ("", None)],
)
def test_status_labels(label: str, status: str | None) -> None:
    assert parse_status(label) == status


def test_unknown_status_is_refused() -> None:
    with pytest.raises(CellError, match="无法识别的建设状态"):
        parse_status("差不多")


@pytest.mark.parametrize(("cell", "year"), [(2015, 2015), ("2015", 2015), ("2015年", 2015), ("2015-09", 2015),
                                             (dt.date(2016, 5, 1), 2016), ("２０１７", 2017), ("", None)])
def test_built_years(cell: object, year: int | None) -> None:
    assert parse_built_year(cell, this_year=2025) == year


@pytest.mark.parametrize("cell", ["明年", 1970, 2030])
def test_implausible_built_years(cell: object) -> None:
    with pytest.raises(CellError):
        parse_built_year(cell, this_year=2025)


@pytest.mark.parametrize(
    ("header", "field"),
    [("区县", "county"), ("县(区)", "county"), ("县（区）", "county"), ("乡镇(街道)", "town"), ("学校", "school"),
     ("学校名称", "school"), ("*学校名称", "school"), (" 学 校 名 称 ", "school"), ("班级名称", "klass"),
     ("班名", "klass"), ("学生人数", "pupils"), ("人数", "pupils"), ("班额", "pupils"), ("学生数（人）", "pupils"),
     ("模式", "mode"), ("状态", "status"), ("建成时间", "built_year"), ("年级", "grade"), ("备注", None)],
)
def test_header_variants(header: str, field: str | None) -> None:
    assert match_header(header) == field


def test_header_row_is_the_one_naming_most_columns() -> None:
    rows = [
        ["吉水县班班通建设调查表", "", "", ""],
        ["填报单位：吉水县教育局", "", "学校", ""],  # a stray word matching one header is not a header
        ["", "", "", ""],
        ["乡镇", "学校名称", "年级", "学生数"],
        ["八都镇", "八都小学", "一年级", 40],
    ]
    index, columns = find_header(rows)  # type: ignore[misc]
    assert index == 3
    assert columns == {"town": 0, "school": 1, "grade": 2, "pupils": 3}


def test_no_header_when_too_few_names_match() -> None:
    assert find_header([["姓名", "学校"], ["张三", "八都小学"]]) is None


@pytest.mark.parametrize(
    ("name", "level"),
    [("吉水县", Region.Level.COUNTY), ("渝水区", Region.Level.COUNTY), ("新余市", Region.Level.CITY),
     ("江西省", Region.Level.PROVINCE), ("广西壮族自治区", Region.Level.PROVINCE)],
)
def test_new_region_level_from_its_name(name: str, level: str) -> None:
    assert guess_region_level(name) == level


def test_total_rows() -> None:
    assert is_total_row("合计")
    assert is_total_row("", "小计")
    assert is_total_row("总计：15所")
    assert not is_total_row("八都小学", "合计")


def _entry(status: str | None = None, year: int | None = None, pupils: int = 40) -> ClassEntry:
    return ClassEntry(2, 0, 1, "1班", pupils, None, status, year)


def test_new_built_class_dates_its_status_to_the_end_of_its_year() -> None:
    assert first_status(TeachingClass.Status.BUILT, 2015, today=TODAY) == ("built", 2015, dt.date(2015, 12, 31))


def test_new_class_built_this_year_is_not_dated_in_the_future() -> None:
    assert first_status(TeachingClass.Status.BUILT, 2025, today=TODAY)[2] == TODAY


def test_new_class_defaults_to_not_built_without_history() -> None:
    assert first_status(None, None, today=TODAY) == ("not_built", None, None)


def test_new_class_in_progress_is_dated_today() -> None:
    assert first_status(TeachingClass.Status.BUILDING, None, today=TODAY) == ("building", None, TODAY)


def _stored(status: str, year: int | None = None) -> StoredClass:
    return StoredClass(1, 40, None, status, year, None)


def test_update_records_a_status_change_dated_today() -> None:
    d = updated_class(_entry(TeachingClass.Status.BUILT), _stored(TeachingClass.Status.BUILDING), today=TODAY)
    assert (d.old_status, d.status, d.status_changed_on, d.built_year, d.changed) == (
        "building", "built", TODAY, 2025, True
    )


def test_blank_status_keeps_the_stored_one() -> None:
    d = updated_class(_entry(None, pupils=41), _stored(TeachingClass.Status.BUILT, 2014), today=TODAY)
    assert (d.status, d.old_status, d.built_year, d.changed) == ("built", None, 2014, True)


def test_survey_saying_built_does_not_undo_an_acceptance() -> None:
    d = updated_class(_entry(TeachingClass.Status.BUILT, 2014), _stored(TeachingClass.Status.ACCEPTED, 2014),
                      today=TODAY)
    assert (d.status, d.old_status, d.changed) == ("accepted", None, False)
