"""The per-lesson coverage matrix (按课时配齐): for one book, which lessons have courseware, a lesson
plan and a test — in a school and in the regional network it sees — and, for a region, which
lessons nobody has covered yet.

Each view is two queries whatever the size of the book: the lessons, and one grouped count of
the book's resources by lesson with a conditional count per need and place (school / network).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q

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


def _needs_counts(places: dict[str, Q]) -> dict[str, Any]:
    """Count(…, filter=place & need) for every place and need: one column each."""
    return {
        f"{place}__{need.key}": Count("id", filter=q & Q(kind__in=need.kinds))
        for place, q in places.items() for need in lr.NEEDS
    }


def _fill(lessons: list[Lesson], rows: Any, places: list[str]) -> list[LessonCoverage]:
    by_lesson = {row["catalogue_lesson"]: row for row in rows}
    out = []
    for lesson in lessons:
        row = by_lesson.get(lesson.pk, {})
        counts = {place: {n.key: int(row.get(f"{place}__{n.key}", 0)) for n in lr.NEEDS} for place in places}
        out.append(LessonCoverage(lesson, counts, int(row.get("schools", 0))))
    return out


def school_matrix(volume: Volume, school: School) -> list[LessonCoverage]:
    """Every lesson of the book: what the school's own library holds (not counting resources the
    network rejected) and what the approved networks reaching the school hold."""
    own = Q(school_id=school.pk) & ~Q(status=Resource.Status.REJECTED)
    network = Q(library=Resource.Library.NETWORK, status=Resource.Status.APPROVED,
                network_path__in=ancestor_paths(school.region_path))
    rows = (Resource.objects.filter(catalogue_lesson__unit__volume=volume, kind__in=NEED_KINDS)
            .filter(own | network).values("catalogue_lesson")
            .annotate(**_needs_counts({"school": own, "network": network})))
    return _fill(_lessons(volume), rows, ["school", "network"])


def region_matrix(volume: Volume, region: Region) -> list[LessonCoverage]:
    """Every lesson of the book with what any school of the region holds (as in the school view:
    its library, rejected ones aside), or an approved network above the region holds; `schools`
    counts the schools that have at least one resource of the lesson."""
    within = subtree_q("school__region_path", region.path) & ~Q(status=Resource.Status.REJECTED)
    above = Q(library=Resource.Library.NETWORK, status=Resource.Status.APPROVED,
              network_path__in=ancestor_paths(region.path))
    rows = (Resource.objects.filter(catalogue_lesson__unit__volume=volume, kind__in=NEED_KINDS)
            .filter(within | above).values("catalogue_lesson")
            .annotate(schools=Count("school_id", filter=within, distinct=True),
                      **_needs_counts({"region": within | above})))
    return _fill(_lessons(volume), rows, ["region"])


def summary(rows: list[LessonCoverage], place: str) -> dict[str, int]:
    """Lessons with each need met, fully covered, and covered by nothing at all."""
    out = {n.key: sum(1 for r in rows if r.has(place, n.key)) for n in lr.NEEDS}
    out["complete"] = sum(1 for r in rows if not r.missing(place))
    out["none"] = sum(1 for r in rows if not any(r.has(place, n.key) for n in lr.NEEDS))
    out["lessons"] = len(rows)
    return out
