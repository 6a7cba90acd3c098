"""Chinese text for the search index: normalising, segmenting, and turning a query into terms.

Pure functions, no database: both index backends (SQLite FTS5, PostgreSQL tsvector) store the
tokens made here, and both read the same `Query`.

Why four kinds of token:
- `grams`: overlapping character bigrams of every CJK run, in order. A phrase of a query's
  bigrams ("分数" → 分数; "分数线" → 分数 数线) matches exactly where the query is a substring,
  so recall against a brute-force substring scan is 1.0 whatever jieba would have made of
  the query or the document (jieba cuts "部分数据" into 部分/数据: no word 分数 there).
- `chars`: the single characters, for one-character queries.
- `words`: jieba's search-mode words (two-character words inside longer ones too) and Latin or
  digit words; a term that is also a jieba word of the document ranks higher.
- `initials`: pinyin initials of the title (分数的初步认识 → fsdcbrs), every suffix of each run,
  so that a prefix query `fs*` finds the initials anywhere in the title.
Script: both the index and the query are converted to simplified Chinese (opencc t2s) after
NFKC, so 分數 finds 分数 and full-width ＰＰＴ finds ppt.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

# A CJK run: unified ideographs and extension A, compatibility ideographs. Everything else that
# is a letter or a digit forms Latin/digit words; the rest separates.
CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
RUN_RE = re.compile(f"[{CJK}]+|[a-z0-9]+")
CJK_RE = re.compile(f"^[{CJK}]+$")

# A query run longer than this is split into jieba words (each still matched as a substring), so
# that 初步认识分数 finds 分数的初步认识; up to this length it must appear as it is.
EXACT_QUERY_CHARS = 4
MAX_QUERY_CHARS = 100
MAX_QUERY_TERMS = 12
MAX_INITIALS = 24  # a title run's initials beyond this are not indexed (titles are ≤ 200 chars)
# Stands between the bigrams of two runs so that no phrase spans the gap; never a query token.
GAP = "0"


@functools.cache
def _converter() -> Any:
    from opencc import OpenCC

    return OpenCC("t2s")


@functools.cache
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def normalise(text: str) -> str:
    """NFKC (full-width → half-width), lower case, traditional → simplified."""
    if not text:
        return ""
    return str(_converter().convert(unicodedata.normalize("NFKC", text).lower()))


# Joins many texts for one pass through opencc (see normalise_many): a private-use character,
# which NFKC, lower() and opencc leave alone and which no dictionary phrase contains.
_JOIN = "\ue000"


def normalise_many(texts: list[str]) -> list[str]:
    """normalise() of each text, in one conversion call: the converter's cost is mostly per call."""
    joined = _JOIN.join(texts)
    parts = normalise(joined).split(_JOIN) if joined else [""] * len(texts)
    if len(parts) != len(texts):  # a text held the joining character itself
        return [normalise(t) for t in texts]
    return parts


def runs(text: str) -> list[str]:
    """The CJK runs and Latin/digit words of already normalised text, in order."""
    return RUN_RE.findall(text)


def is_cjk(run: str) -> bool:
    return bool(CJK_RE.match(run))


def bigrams(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)]


@dataclass
class Section:
    """The tokens of one field (title, description and tags, or the file's text)."""

    grams: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    chars: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.add_normal(normalise(text))

    def add_normal(self, text: str) -> None:
        """Add text that normalise() has already been applied to."""
        jieba = _jieba()
        for run in runs(text):
            if not is_cjk(run):
                self.words.append(run)
                continue
            # A separator keeps bigrams of different runs from forming a phrase across the gap.
            if self.grams:
                self.grams.append(GAP)
            self.grams.extend(bigrams(run))
            self.chars.extend(run)
            self.words.extend(w for w in jieba.cut_for_search(run) if len(w) > 1)


@dataclass
class Document:
    title: Section
    meta: Section
    body: Section
    initials: list[str]


def initials_of(title: str) -> list[str]:
    return initials_of_normal(normalise(title))


def initials_of_normal(title: str) -> list[str]:
    from pypinyin import Style, lazy_pinyin

    tokens: list[str] = []
    for run in runs(title):
        if not is_cjk(run):
            continue
        letters = "".join(p[:1] for p in lazy_pinyin(run[:MAX_INITIALS], style=Style.FIRST_LETTER))
        letters = re.sub("[^a-z]", "", letters)
        tokens.extend(letters[i:] for i in range(len(letters)))
    return tokens


def _tags_text(tags: str) -> str:
    return tags.replace(",", " ").replace("，", " ")


def _document_of_normal(title: str, description: str, tags: str, body: str) -> Document:
    t, m, b = Section(), Section(), Section()
    t.add_normal(title)
    m.add_normal(description)
    m.add_normal(tags)
    b.add_normal(body)
    return Document(title=t, meta=m, body=b, initials=initials_of_normal(title))


def document(*, title: str, description: str = "", tags: str = "", body: str = "") -> Document:
    return _document_of_normal(normalise(title), normalise(description), normalise(_tags_text(tags)), normalise(body))


def documents(items: list[tuple[str, str, str, str]]) -> list[Document]:
    """document() of many (title, description, tags, body) at once — the same tokens, made in bulk
    (one normalising pass for all texts); for reindexing and the search benchmark."""
    flat = normalise_many([x for title, description, tags, body in items
                           for x in (title, description, _tags_text(tags), body)])
    return [_document_of_normal(*flat[i : i + 4]) for i in range(0, len(flat), 4)]


# --- Queries ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One thing every result must contain: CJK text as a substring, or a Latin/digit prefix."""

    text: str
    cjk: bool

    @property
    def grams(self) -> list[str]:
        return bigrams(self.text)


@dataclass(frozen=True)
class Query:
    terms: tuple[Term, ...]

    def __bool__(self) -> bool:
        return bool(self.terms)

    @property
    def highlight(self) -> list[str]:
        return [t.text for t in self.terms]


def parse_query(raw: str) -> Query:
    """Terms of a query typed by a user; all of them must match (AND)."""
    text = normalise((raw or "")[:MAX_QUERY_CHARS])
    terms: list[Term] = []
    for run in runs(text):
        if not is_cjk(run):
            terms.append(Term(run, cjk=False))
        elif len(run) <= EXACT_QUERY_CHARS:
            terms.append(Term(run, cjk=True))
        else:
            # jieba's precise mode: the words a person meant, in any order in the document.
            # Particles such as 的 are dropped when there are words, else 分数的初步认识
            # would miss a title 初步认识分数.
            words = [w for w in _jieba().cut(run) if w.strip()]
            longer = [w for w in words if len(w) > 1]
            terms.extend(Term(w, cjk=True) for w in (longer or words))
    unique = list(dict.fromkeys(terms))
    return Query(tuple(unique[:MAX_QUERY_TERMS]))
