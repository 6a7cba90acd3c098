"""The per-lesson coverage matrix (按课时配齐): for one book, which lessons have courseware, a lesson
plan and a test — in a school and in the regional network it sees — and, for a region, which
lessons nobody has covered yet.

Each view is a fixed handful of queries whatever the size of the book: the lessons, then one
grouped count by lesson and kind per place (the school's library, the networks above it), each
led by the index that fits that place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, Subquery

from banbantong.core.scope import subtree_q
from banbantong.org.models import Region, School
from banbantong.resources import library_rules as lr
from banbantong.resources.models import Lesson, Resource, Volume, ancestor_paths

NEED_KINDS = tuple(k for n in lr.NEEDS for k in n.kinds)


@dataclass
class LessonCoverage:
    lesson: Lesson
    # need key -> count of resources, per place ("school", "network" or "region")
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    schools: int = 0  # region view: how many schools have anything for this lesson

    def has(self, place: str, need: str) -> bool:
        return self.counts.get(place, {}).get(need, 0) > 0

    def missing(self, place: str) -> list[str]:
        return lr.missing_needs(self.counts.get(place, {}))

    @property
    def uncovered(self) -> bool:
        """Nothing of any need anywhere counted."""
        return not any(n for place in self.counts.values() for n in place.values())


def _lessons(volume: Volume) -> list[Lesson]:
    return list(Lesson.objects.filter(unit__volume=volume).select_related("unit").order_by("unit__number", "number"))


def _by_need(rows: Any) -> dict[int, dict[str, int]]:
    """(lesson, kind, n) rows -> {lesson: {need: n}}."""
    out: dict[int, dict[str, int]] = {}
    for lesson_id, kind, n in rows:
        if need := lr.need_of(kind):
            counts = out.setdefault(lesson_id, {})
            counts[need] = counts.get(need, 0) + n
    return out


def _grouped(qs: Any, lesson_ids: list[int]) -> dict[int, dict[str, int]]:
    """The book's resources of one place counted by lesson and kind: one grouped query."""
    rows = (qs.filter(catalogue_lesson_id__in=lesson_ids, kind__in=NEED_KINDS)
            .values_list("catalogue_lesson", "kind").annotate(n=Count("id")).order_by())
    return _by_need(rows)


def _grouped_network(qs: Any, lesson_ids: list[int]) -> dict[int, dict[str, int]]:
    """Like `_grouped`, for network resources: led by the network scope index, the book's lessons
    kept in Python. With a popular book, a lesson filter in SQL tempts the planner (whose
    statistics are averages over all books) into reading all of that book's resources."""
    wanted = set(lesson_ids)
    rows = (qs.filter(catalogue_lesson__isnull=False, kind__in=NEED_KINDS)
            .values_list("catalogue_lesson", "kind").annotate(n=Count("id")).order_by())
    return _by_need(row for row in rows if row[0] in wanted)


def _network_above(path: str) -> Q:
    return Q(library=Resource.Library.NETWORK, status=Resource.Status.APPROVED, network_path__in=ancestor_paths(path))


def _fill(lessons: list[Lesson], places: dict[str, dict[int, dict[str, int]]],
          schools: dict[int, int] | None = None) -> list[LessonCoverage]:
    return [
        LessonCoverage(lesson, {place: {n.key: counts.get(lesson.pk, {}).get(n.key, 0) for n in lr.NEEDS}
                                for place, counts in places.items()}, (schools or {}).get(lesson.pk, 0))
        for lesson in lessons
    ]


def school_matrix(volume: Volume, school: School) -> list[LessonCoverage]:
    """Every lesson of the book: what the school's own library holds (not counting resources the
    network rejected) and what the approved networks reaching the school hold.

    One grouped query per place, each led by its own index (the school's resources; the networks'
    scope index), so the cost follows what the school and its networks hold, not the whole book's
    resources across the province."""
    lessons = _lessons(volume)
    ids = [lesson.pk for lesson in lessons]
    own = Resource.objects.filter(school_id=school.pk).exclude(status=Resource.Status.REJECTED)
    network = Resource.objects.filter(_network_above(school.region_path))
    return _fill(lessons, {"school": _grouped(own, ids), "network": _grouped_network(network, ids)})


def region_matrix(volume: Volume, region: Region) -> list[LessonCoverage]:
    """Every lesson of the book with what any school of the region holds (as in the school view:
    its library, rejected ones aside), or an approved network above the region holds; `schools`
    counts the schools that have at least one resource of the lesson."""
    lessons = _lessons(volume)
    ids = [lesson.pk for lesson in lessons]
    schools_q = School.objects.filter(subtree_q("region_path", region.path)).values("id")
    within = (Resource.objects.filter(school_id__in=Subquery(schools_q), catalogue_lesson_id__in=ids,
                                      kind__in=NEED_KINDS)
              .exclude(status=Resource.Status.REJECTED))
    # The region's resources of the book by lesson and kind, then (if any) the schools per lesson.
    rows = list(within.values_list("catalogue_lesson", "kind").annotate(n=Count("id")).order_by())
    counts = _by_need(rows)
    schools = dict(within.values_list("catalogue_lesson").annotate(s=Count("school_id", distinct=True))
                   .values_list("catalogue_lesson", "s").order_by()) if rows else {}
    # Networks at or above the region, for resources of schools elsewhere (the region's own are counted).
    elsewhere = Resource.objects.filter(_network_above(region.path)).exclude(school_id__in=Subquery(schools_q))
    above = _grouped_network(elsewhere, ids)
    for lesson_id, needs in above.items():
        for need, n in needs.items():
            counts.setdefault(lesson_id, {})[need] = counts.get(lesson_id, {}).get(need, 0) + n
    return _fill(lessons, {"region": counts}, schools)


def summary(rows: list[LessonCoverage], place: str) -> dict[str, int]:
    """Lessons with each need met, fully covered, and covered by nothing at all."""
    out = {n.key: sum(1 for r in rows if r.has(place, n.key)) for n in lr.NEEDS}
    out["complete"] = sum(1 for r in rows if not r.missing(place))
    out["none"] = sum(1 for r in rows if not any(r.has(place, n.key) for n in lr.NEEDS))
    out["lessons"] = len(rows)
    return out
