"""Planning pages in English: headers, choice labels, chart legends and catalogue sources follow the
language switch; the Excel exports stay Chinese."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.conf import settings
from django.test import Client

from banbantong.conftest import World


def _english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _sheets(response: object) -> dict[str, list[tuple[object, ...]]]:
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))  # type: ignore[attr-defined]
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}


@pytest.mark.django_db
def test_coverage_page_in_chinese_and_in_english(world: World, client: Client) -> None:
    client.force_login(world.alice)
    url = f"/planning/coverage/?region={world.county_a.pk}"
    chinese = client.get(url).content.decode()
    assert "按学校类型" in chinese and "中心小学" in chinese and "农村" in chinese

    english = _english(client).get(url).content.decode()
    assert 'lang="en"' in english
    assert "By school kind" in english and "By mode" in english
    assert "Central primary school" in english and "Village primary school" in english
    assert ">Rural<" in english.replace("<strong>", "").replace("</strong>", "")
    assert "中心小学" not in english and "按学校类型" not in english and "农村" not in english
    # Region names are data: they stay as entered.
    assert world.county_a.name in english


@pytest.mark.django_db
def test_coverage_export_from_an_english_page_is_chinese(world: World, client: Client) -> None:
    client.force_login(world.alice)
    response = _english(client).get(f"/planning/coverage/?region={world.county_a.pk}&export=xlsx")
    assert response.status_code == 200
    sheets = _sheets(response)
    assert "学校" in sheets and "按学校类型" in sheets
    assert sheets["按学校类型"][0] == ("学校类型", "教学班", "已建", "覆盖率(%)")
    assert {row[0] for row in sheets["按学校类型"][1:]} == {"中心小学", "村小"}
    assert {row[0] for row in sheets["按城乡"][1:]} <= {"农村", "城镇"}


@pytest.mark.django_db
def test_overview_chart_legend_follows_the_language(world: World, client: Client) -> None:
    client.force_login(world.alice)
    url = f"/planning/?region={world.county_a.pk}"
    assert "实际覆盖率" in client.get(url).content.decode()
    english = _english(client).get(url).content.decode()
    assert "Actual coverage" in english and "实际覆盖率" not in english


@pytest.mark.django_db
def test_modes_page_in_english_and_its_export_in_chinese(world: World, client: Client) -> None:
    client.force_login(world.alice)
    url = f"/planning/modes/?region={world.county_a.pk}"
    chinese = client.get(url).content.decode()
    assert "继承自平台默认" in chinese and "中心小学" in chinese

    english = _english(client).get(url).content.decode()
    assert "Inherited from platform default" in english
    assert "Price per class (yuan)" in english and "Central primary school" in english
    assert "继承自" not in english and "中心小学" not in english
    # The default rule's lines read as English sentences ("…, grades 1–3"), and as before in Chinese.
    assert "Central primary school, grades 1–3" in english and "年级" not in english
    assert "中心小学 1–3 年级" in chinese

    sheets = _sheets(client.get(f"{url}&export=xlsx"))
    rows = sheets["模式目录"]
    assert rows[0] == ("代码", "名称", "设备组成", "每班单价(元)", "别名", "来源", "使用班数")
    assert {row[5] for row in rows[1:]} == {"继承自平台默认"}


@pytest.mark.django_db
def test_out_of_scope_region_is_404_in_english_too(world: World, client: Client) -> None:
    client.force_login(world.bob)
    assert _english(client).get(f"/planning/coverage/?region={world.county_a.pk}").status_code == 404
