"""Coverage (classes built or accepted ÷ all classes) at every level of the region tree, broken
down by terminal mode, school kind and rural/urban, today or as of any past date.

As of a date D, a class counted as built if its status on D was 已建 or 已验收. Today's counts are
always right, so the past is today's count minus the changes dated after D: each change that
entered "built" after D is taken back, each that left it is given back. That touches only the
history after D. The denominator is the classes registered today (a bureau compares last
December's built classes against the classes it has now).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from banbantong.core.scope import subtree_q
from banbantong.org.models import ClassStatusChange, Region, School, TeachingClass
from banbantong.planning.models import TerminalMode
from banbantong.planning.rules import coverage_percent

BUILT = frozenset(TeachingClass.BUILT_STATUSES)


@dataclass
class Counts:
    classes: int = 0
    built: int = 0

    @property
    def coverage(self) -> Decimal:
        return coverage_percent(self.built, self.classes)

    def add(self, classes: int, built: int) -> None:
        self.classes += classes
        self.built += built

    def as_dict(self) -> dict[str, Any]:
        return {"classes": self.classes, "built": self.built, "coverage_percent": float(self.coverage)}


@dataclass
class Node:
    id: int
    name: str
    level: str
    path: str
    code: str = ""
    counts: Counts = field(default_factory=Counts)
    children: list[Node] = field(default_factory=list)
    schools: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self, *, with_schools: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "name": self.name, "level": self.level, **self.counts.as_dict()}
        out["children"] = [c.as_dict(with_schools=with_schools) for c in self.children]
        if with_schools:
            out["schools"] = self.schools
        return out


@dataclass
class CoverageReport:
    root: Node
    as_of: dt.date | None
    by_mode: dict[str, Counts]
    by_kind: dict[str, Counts]
    by_area: dict[str, Counts]

    def levels(self) -> dict[str, list[Node]]:
        """Every node grouped by level (省/市/区县/乡镇), for tables and charts."""
        out: dict[str, list[Node]] = defaultdict(list)
        stack = [self.root]
        while stack:
            node = stack.pop()
            out[node.level].append(node)
            stack.extend(reversed(node.children))
        return dict(out)

    def as_dict(self, *, with_schools: bool = False) -> dict[str, Any]:
        def table(d: dict[str, Counts]) -> list[dict[str, Any]]:
            return [{"key": k, **v.as_dict()} for k, v in d.items()]

        return {
            "region": self.root.name,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            **self.root.counts.as_dict(),
            "by_mode": table(self.by_mode),
            "by_kind": table(self.by_kind),
            "by_area": table(self.by_area),
            "tree": self.root.as_dict(with_schools=with_schools),
        }


def _built_changes_after(user: Any, region: Region, as_of: dt.date) -> dict[tuple[int, int | None], int]:
    """Net classes that became built after as_of, per (school, mode): enters minus leaves."""
    rows = (
        ClassStatusChange.objects.filter(changed_on__gt=as_of)
        .filter(klass__in=TeachingClass.objects.for_user(user).filter(subtree_q("school__region_path", region.path)))
        .values("klass__school_id", "klass__mode_id", "old_status", "new_status")
        .annotate(n=Count("id"))
    )
    net: dict[tuple[int, int | None], int] = defaultdict(int)
    for r in rows:
        was, now = r["old_status"] in BUILT, r["new_status"] in BUILT
        if now and not was:
            net[(r["klass__school_id"], r["klass__mode_id"])] += r["n"]
        elif was and not now:
            net[(r["klass__school_id"], r["klass__mode_id"])] -= r["n"]
    return net


def coverage(user: Any, region: Region, *, as_of: dt.date | None = None) -> CoverageReport:
    """Coverage of region and every region and school under it, as the user may see them."""
    classes = TeachingClass.objects.for_user(user).filter(subtree_q("school__region_path", region.path))
    per_school_mode: dict[tuple[int, int | None], list[int]] = {}
    for r in classes.values("school_id", "mode_id").annotate(
        total=Count("id"), built=Count("id", filter=Q(status__in=TeachingClass.BUILT_STATUSES))
    ):
        per_school_mode[(r["school_id"], r["mode_id"])] = [r["total"], r["built"]]
    if as_of is not None and as_of < timezone.localdate():
        for key, delta in _built_changes_after(user, region, as_of).items():
            if key in per_school_mode:
                per_school_mode[key][1] = max(0, per_school_mode[key][1] - delta)

    schools = {
        s["id"]: s
        for s in School.objects.for_user(user)
        .filter(subtree_q("region_path", region.path))
        .values("id", "name", "region_path", "kind", "is_rural")
    }
    regions = list(
        Region.objects.for_user(user).filter(subtree_q("path", region.path)).values("id", "name", "level", "path", "code")
    )
    if not any(r["id"] == region.pk for r in regions):
        regions.append({"id": region.pk, "name": region.name, "level": region.level, "path": region.path,
                        "code": region.code})
    nodes = {
        r["path"]: Node(id=r["id"], name=r["name"], level=r["level"], path=r["path"], code=r["code"]) for r in regions
    }
    for path, node in sorted(nodes.items()):
        parent_path = path[: path.rstrip("/").rfind("/") + 1]
        if path != region.path and parent_path in nodes:
            nodes[parent_path].children.append(node)

    mode_names = dict(TerminalMode.objects.values_list("id", "name"))
    kind_labels = dict(School.Kind.choices)
    by_mode: dict[str, Counts] = defaultdict(Counts)
    by_kind: dict[str, Counts] = defaultdict(Counts)
    by_area: dict[str, Counts] = defaultdict(Counts)
    per_school: dict[int, Counts] = defaultdict(Counts)
    for (school_id, mode_id), (total, built) in per_school_mode.items():
        school = schools[school_id]
        per_school[school_id].add(total, built)
        by_mode[mode_names.get(mode_id, "未定模式") if mode_id else "未定模式"].add(total, built)
        by_kind[kind_labels.get(school["kind"], school["kind"])].add(total, built)
        by_area["农村" if school["is_rural"] else "城镇"].add(total, built)

    # Roll each school's counts up every ancestor within the report's region.
    for school_id, counts in per_school.items():
        school = schools[school_id]
        path = school["region_path"]
        owner = nodes.get(path)
        if owner is not None:
            owner.schools.append({"id": school_id, "name": school["name"], **counts.as_dict()})
        while len(path) >= len(region.path):
            ancestor = nodes.get(path)
            if ancestor is not None:
                ancestor.counts.add(counts.classes, counts.built)
            path = path[: path.rstrip("/").rfind("/") + 1]
    for node in nodes.values():
        node.children.sort(key=lambda n: (n.code, n.name))
        node.schools.sort(key=lambda s: s["name"])
    return CoverageReport(
        root=nodes[region.path], as_of=as_of, by_mode=dict(by_mode), by_kind=dict(by_kind), by_area=dict(by_area)
    )


def yearly_built(user: Any, region: Region, years: list[int]) -> dict[int, int]:
    """Classes built at the end of each year (today for the current year), from today's counts
    minus the changes dated after each year's end — one grouped query, whatever the history."""
    from banbantong.org.queries import figures

    built_now = figures(user, region).built
    rows = (
        ClassStatusChange.objects.filter(
            klass__in=TeachingClass.objects.for_user(user).filter(subtree_q("school__region_path", region.path)),
            changed_on__year__gte=min(years) + 1 if years else 0,
        )
        .values("changed_on__year", "old_status", "new_status")
        .annotate(n=Count("id"))
    )
    net_by_year: dict[int, int] = defaultdict(int)
    for r in rows:
        was, now = r["old_status"] in BUILT, r["new_status"] in BUILT
        if now != was:
            net_by_year[r["changed_on__year"]] += r["n"] if now else -r["n"]
    return {y: built_now - sum(n for yy, n in net_by_year.items() if yy > y) for y in years}
