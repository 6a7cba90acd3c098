"""Curriculum catalogue: the Excel import (all or nothing, row and column errors), who sees which
book, resources attached to lessons."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from banbantong.conftest import World
from banbantong.core.models import AuditEntry
from banbantong.resources import catalogue, catalogue_example
from banbantong.resources.models import Edition, Lesson, Resource, Unit, Volume
from banbantong.resources.tests.kit import catalogue_xlsx, example_volume, make_resource

GOOD = [
    ["小学", "数学", "人教版", "三年级", "上册", 1, "时、分、秒", 1, "秒的认识"],
    ["小学", "数学", "人教版", "三年级", "上册", 1, "时、分、秒", 2, "时间的计算"],
    ["小学", "数学", "人教版", "三年级", "上册", "２", "万以内的加法和减法（一）", 1, "两位数加两位数口算"],
    ["初中", "数学", "人教版", "七年级", "上册", 1, "有理数", 1, "正数和负数"],
]


def test_good_file_loads_books_units_lessons_with_one_audit_entry(world: World, tmp_path: Path) -> None:
    path = catalogue_xlsx(tmp_path / "目录.xlsx", GOOD, title_rows=2)
    result = catalogue.load_catalogue(path, region=world.county_a, actor=world.alice)
    assert result.ok, result.errors
    assert (result.editions, result.volumes, result.units, result.lessons) == (2, 2, 3, 4)
    assert Edition.objects.filter(region=world.county_a).count() == 2
    volume = Volume.objects.get(edition__stage="小学", grade=3, term="上册")
    assert [u.name for u in volume.units.order_by("number")] == ["时、分、秒", "万以内的加法和减法（一）"]
    assert Lesson.objects.count() == 4
    assert AuditEntry.objects.filter(action="import", object_type="resources.Edition").count() == 1


def test_loading_again_renames_in_place_and_deletes_nothing(world: World, tmp_path: Path) -> None:
    catalogue.load_catalogue(catalogue_xlsx(tmp_path / "a.xlsx", GOOD), region=world.county_a, actor=world.alice)
    lesson = Lesson.objects.get(name="秒的认识")
    resource = make_resource(world, catalogue_lesson=lesson)
    renamed = [["小学", "数学", "人教版", "三年级", "上册", 1, "时、分、秒", 1, "认识秒"]]
    result = catalogue.load_catalogue(catalogue_xlsx(tmp_path / "b.xlsx", renamed), region=world.county_a,
                                      actor=world.alice)
    assert result.ok and result.created_lessons == 0
    assert Lesson.objects.count() == 4
    lesson.refresh_from_db()
    resource.refresh_from_db()
    assert lesson.name == "认识秒" and resource.lesson == "认识秒"


def test_bad_rows_are_all_reported_by_row_and_column_and_nothing_is_written(world: World, tmp_path: Path) -> None:
    rows = [
        ["小学", "数学", "人教版", "三年级", "上册", 1, "时、分、秒", 1, "秒的认识"],  # row 2: good
        ["大学", "数学", "人教版", "三年级", "上册", 1, "时、分、秒", 2, "时间的计算"],  # row 3: stage
        ["小学", "数学", "人教版", "九年级", "上册", 1, "时、分、秒", 3, "x"],  # row 4: grade not primary
        ["小学", "数学", "人教版", "三年级", "上册", "一", "时、分、秒", 4, "y"],  # row 5: unit number
        ["小学", "数学", "人教版", "三年级", "上册", 1, "时分秒", 5, "z"],  # row 6: unit renamed
        ["小学", "数学", "人教版", "三年级", "上册", 1, "时、分、秒", 1, "重复"],  # row 7: duplicate lesson
        ["小学", "数学", "人教版", "三年级", "上册", 1, "时、分、秒", 6, ""],  # row 8: empty lesson
        ["小学", "数学", "人教版", "三年级", "上册", 1, "时、分、秒", 7, "长" * 61],  # row 9: too long
    ]
    path = catalogue_xlsx(tmp_path / "bad.xlsx", rows)
    result = catalogue.load_catalogue(path, region=world.county_a, actor=world.alice)
    assert not result.ok
    found = {(line, column.split()[0] if column else "") for line, column, _ in result.errors}
    assert found == {(3, "A"), (4, "D"), (5, "F"), (6, "G"), (7, "H"), (8, "I"), (9, "I")}
    messages = " ".join(m for _, _, m in result.errors)
    assert "学段应为" in messages and "不属于小学" in messages and "与第 2 行重复" in messages
    assert not Edition.objects.exists() and not Lesson.objects.exists()
    assert not AuditEntry.objects.filter(action="import").exists()


def test_not_a_workbook_and_missing_header_are_clear_errors(world: World, tmp_path: Path) -> None:
    fake = tmp_path / "x.xlsx"
    fake.write_bytes(b"MZ\x90\x00 not a workbook")
    with pytest.raises(ValidationError, match="不是有效的 Excel"):
        catalogue.load_catalogue(fake, region=world.county_a, actor=world.alice)
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["学校", "班级"])
    wb.active.append(["a", "b"])
    wb.save(tmp_path / "h.xlsx")
    with pytest.raises(ValidationError, match="找不到表头"):
        catalogue.load_catalogue(tmp_path / "h.xlsx", region=world.county_a, actor=world.alice)


def test_only_bureau_admins_of_the_region_load(world: World, tmp_path: Path) -> None:
    path = catalogue_xlsx(tmp_path / "a.xlsx", GOOD)
    for user in (world.teacher_user_a, world.reviewer_a, world.auditor_a, world.bob):
        with pytest.raises(PermissionDenied):
            catalogue.load_catalogue(path, region=world.county_a, actor=user)
    assert not Edition.objects.exists()


def test_a_region_catalogue_reaches_the_schools_below_and_not_the_other_county(world: World) -> None:
    county_book = example_volume(world)
    city_book = example_volume(world, world.city)
    assert set(Volume.objects.for_user(world.teacher_user_a)) == {county_book, city_book}
    assert set(Volume.objects.for_user(world.bob)) == {city_book}
    assert set(Volume.objects.for_user(world.city_admin)) == {county_book, city_book}


def test_pages_browse_and_export(world: World, client: Client) -> None:
    volume = example_volume(world)
    client.force_login(world.teacher_user_a)
    page = client.get(f"/resources/catalogue/{volume.pk}/").content.decode()
    assert "分数的初步认识" in page and "几分之一" in page and "为此课时上传" in page
    export = client.get(f"/resources/catalogue/{volume.pk}/?export=xlsx")
    assert export.status_code == 200 and export["Content-Type"].startswith("application/vnd.openxml")
    assert client.get("/resources/catalogue/?export=xlsx").status_code == 200
    client.force_login(world.bob)
    assert client.get(f"/resources/catalogue/{volume.pk}/").status_code == 404


def test_web_import_with_errors_answers_400_and_writes_nothing(world: World, client: Client, tmp_path: Path) -> None:
    path = catalogue_xlsx(tmp_path / "bad.xlsx", [["小学", "数学", "人教版", "三年级", "上册", "x", "u", 1, "l"]])
    client.force_login(world.alice)
    with path.open("rb") as fh:
        response = client.post("/resources/catalogue/import/", {"region": world.county_a.pk, "file": fh})
    assert response.status_code == 400
    assert "单元序号应为" in response.content.decode() and "F 单元序号" in response.content.decode()
    assert not Lesson.objects.exists()
    response = client.post("/resources/catalogue/import/", {"region": world.county_a.pk})
    assert response.status_code == 400 and "请选择要导入" in response.content.decode()
    assert client.get("/resources/catalogue/template.xlsx").status_code == 200


def test_api_import_reports_errors_as_json(world: World, client: Client, tmp_path: Path) -> None:
    path = catalogue_xlsx(tmp_path / "bad.xlsx", [["小学", "数学", "人教版", "三年级", "上册", 1, "u", 1, ""]])
    client.force_login(world.alice)
    with path.open("rb") as fh:
        response = client.post("/api/v1/resources/catalogue/import", {"region_id": world.county_a.pk, "file": fh})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"row": 2, "column": "I 课时名称", "message": "课时名称不能为空。"}]
    assert not Lesson.objects.exists()


def test_resource_on_a_lesson_takes_its_fields(world: World) -> None:
    volume = example_volume(world)
    lesson = Lesson.objects.get(unit__volume=volume, name="几分之一")
    resource = make_resource(world, catalogue_lesson=lesson, subject="语文")
    assert (resource.stage, resource.subject, resource.grade, resource.edition, resource.volume) == (
        "小学", "数学", "三年级", "人教版", "上册")
    assert (resource.unit, resource.lesson, resource.catalogue_lesson_id) == ("分数的初步认识", "几分之一", lesson.pk)


def test_a_lesson_of_another_county_is_refused(world: World) -> None:
    other = example_volume(world, world.county_b)
    lesson = Lesson.objects.filter(unit__volume=other).first()
    with pytest.raises(ValidationError, match="不适用于本校"):
        make_resource(world, catalogue_lesson=lesson)
    assert not Resource.objects.exists()


def test_api_upload_with_lesson_id(world: World, client: Client) -> None:
    from banbantong.resources.tests.kit import PDF, sha

    volume = example_volume(world)
    lesson = Lesson.objects.filter(unit__volume=volume).first()
    make_resource(world)
    client.force_login(world.teacher_user_a)
    body = {"title": "课件", "kind": "courseware", "file_name": "a.pdf", "sha256": sha(PDF), "lesson_id": lesson.pk}
    response = client.post("/api/v1/resources", body, content_type="application/json")
    assert response.status_code == 201 and response.json()["catalogue_lesson_id"] == lesson.pk
    other = example_volume(world, world.county_b)
    body["lesson_id"] = Lesson.objects.filter(unit__volume=other).first().pk
    assert client.post("/api/v1/resources", body, content_type="application/json").status_code == 400


def test_example_catalogue_is_the_real_book() -> None:
    rows = catalogue_example.rows()
    assert len({r.unit_no for r in rows}) == 10
    assert any(r.lesson == "几分之一" for r in rows)
    assert Unit._meta.get_field("name").max_length >= max(len(r.unit) for r in rows)


def test_upload_page_for_a_lesson(world: World, client: Client) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from banbantong.resources.tests.kit import PDF

    volume = example_volume(world)
    lesson = Lesson.objects.get(unit__volume=volume, name="秒的认识")
    client.force_login(world.teacher_user_a)
    page = client.get(f"/resources/upload/?lesson={lesson.pk}").content.decode()
    assert "挂到目录课时" in page and "秒的认识" in page and 'name="edition"' not in page
    body = {"file": SimpleUploadedFile("秒.pdf", PDF), "title": "秒的认识", "kind": "courseware",
            "school": world.school_a.pk, "catalogue_lesson": lesson.pk}
    assert client.post("/resources/upload/", body).status_code == 302
    resource = Resource.objects.get()
    assert (resource.catalogue_lesson, resource.subject, resource.unit) == (lesson, "数学", "时、分、秒")
    other = Lesson.objects.filter(unit__volume=example_volume(world, world.county_b)).first()
    body = {**body, "file": SimpleUploadedFile("秒.pdf", PDF), "catalogue_lesson": other.pk}
    assert client.post("/resources/upload/", body).status_code == 400
    assert Resource.objects.count() == 1
