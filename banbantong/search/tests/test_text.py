"""Segmenting, normalising and query parsing: pure functions, no database."""

from __future__ import annotations

from banbantong.search import text


def test_traditional_full_width_and_case_are_normalised() -> None:
    assert text.normalise("分數的初步認識 ＰＰＴ") == "分数的初步认识 ppt"


def test_bigrams_cover_every_two_character_substring_whatever_jieba_cuts() -> None:
    doc = text.document(title="部分数据")
    # jieba cuts 部分/数据 — no word 分数 — but the bigram is there, so 分数 is found.
    assert "分数" not in doc.title.words
    assert "分数" in doc.title.grams
    assert doc.title.chars == list("部分数据")


def test_runs_do_not_join_into_false_bigrams() -> None:
    doc = text.document(title="分，数")
    assert "分数" not in doc.title.grams


def test_search_mode_keeps_short_words_inside_long_ones() -> None:
    doc = text.document(title="中华人民共和国")
    assert {"中华", "人民", "共和国", "中华人民共和国"} <= set(doc.title.words)


def test_pinyin_initials_of_the_title_are_found_anywhere() -> None:
    doc = text.document(title="分数的初步认识")
    assert "fsdcbrs" in doc.initials
    assert any(t.startswith("cbrs") for t in doc.initials)


def test_short_queries_are_matched_as_typed_long_ones_by_words() -> None:
    assert text.parse_query("分數").terms == (text.Term("分数", cjk=True),)
    assert [t.text for t in text.parse_query("初步认识分数").terms] == ["初步", "认识", "分数"]
    # 的 would exclude a title without it; dropped when the query has words.
    assert "的" not in [t.text for t in text.parse_query("分数的初步认识").terms]
    assert text.parse_query("FS").terms == (text.Term("fs", cjk=False),)


def test_punctuation_only_is_no_query() -> None:
    assert not text.parse_query("，。！？ ")
    assert not text.parse_query("")
