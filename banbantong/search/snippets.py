"""Highlighted snippets of search results, escaped before any markup is added.

Matching happens on the normalised text (simplified script, half-width, lower case) so that a
traditional-script document shows where 分数 matched 分數; the characters shown are the
original ones whenever normalising kept the length (it almost always does).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from banbantong.search.text import normalise

WINDOW = 90  # characters shown around the first hit
BEFORE = 20


@dataclass(frozen=True)
class Marked:
    """Plain text for Excel and the API (`str`), highlighted HTML for templates (`.html`)."""

    text: str
    spans: tuple[tuple[int, int], ...] = ()
    cut_left: bool = False
    cut_right: bool = False

    def __str__(self) -> str:
        return ("…" if self.cut_left else "") + self.text + ("…" if self.cut_right else "")

    @property
    def html(self) -> SafeString:
        out: list[str] = []
        at = 0
        for start, end in self.spans:
            out.append(escape(self.text[at:start]))
            out.append(f"<mark>{escape(self.text[start:end])}</mark>")
            at = end
        out.append(escape(self.text[at:]))
        body = "".join(out)
        return mark_safe(("…" if self.cut_left else "") + body + ("…" if self.cut_right else ""))  # noqa: S308 - every piece escaped above


def _spans(norm: str, terms: list[str], lo: int, hi: int) -> tuple[tuple[int, int], ...]:
    hits: list[tuple[int, int]] = []
    for term in terms:
        start = norm.find(term, lo)
        while start != -1 and start < hi:
            hits.append((max(start, lo) - lo, min(start + len(term), hi) - lo))
            start = norm.find(term, start + len(term))
    merged: list[tuple[int, int]] = []
    for s, e in sorted(hits):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return tuple(merged)


def mark(text: str, terms: list[str], *, window: int | None = None) -> Marked | None:
    """The text (or a window of it around the first hit) with the terms marked; None without a hit."""
    text = " ".join(text.split())
    norm = normalise(text)
    shown = text if len(norm) == len(text) else norm
    firsts = [i for t in terms if t and (i := norm.find(t)) != -1]
    if not firsts:
        return None
    lo, hi = 0, len(norm)
    if window is not None and len(norm) > window:
        lo = max(min(firsts) - BEFORE, 0)
        hi = min(lo + window, len(norm))
    return Marked(shown[lo:hi], _spans(norm, terms, lo, hi), cut_left=lo > 0, cut_right=hi < len(norm))


def snippet(resource: object, body: str, terms: list[str]) -> Marked:
    """Where the query matched: the description, then the tags, then the file's text."""
    for source in (getattr(resource, "description", ""), getattr(resource, "tags", ""), body):
        if source and (found := mark(source, terms, window=WINDOW)) is not None:
            return found
    description = " ".join(str(getattr(resource, "description", "")).split())
    return Marked(description[:WINDOW], cut_right=len(description) > WINDOW)
