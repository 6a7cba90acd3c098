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

from django.db.models import Sum
from django.utils import timezone

from banbantong.core.scope import scope_of, subtree_q
from banbantong.org.models import ClassRollup, ClassStatusChange, Region, School
from banbantong.planning.models import TerminalMode
from banbantong.planning.rules import coverage_percent


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
    # School level: (region path, counts) by school id. Names are read only when a caller wants
    # the school rows (export, API with schools=true): a province has 15,000 of them.
    school_counts: dict[int, tuple[str, Counts]] = field(default_factory=dict)
    _schools_loaded: bool = False

    def levels(self) -> dict[str, list[Node]]:
        """Every node grouped by level (省/市/区县/乡镇), for tables and charts."""
        out: dict[str, list[Node]] = defaultdict(list)
        stack = [self.root]
        while stack:
            node = stack.pop()
            out[node.level].append(node)
            stack.extend(reversed(node.children))
        return dict(out)

    def load_schools(self) -> None:
        """Fill each node's `schools` with its own schools' rows, sorted by name."""
        if self._schools_loaded:
            return
        self._schools_loaded = True
        nodes = {n.path: n for ns in self.levels().values() for n in ns}
        ids = list(self.school_counts)
        names: dict[int, str] = {}
        for i in range(0, len(ids), 900):  # below SQLite's bound-parameter limit
            names.update(School.objects.filter(id__in=ids[i : i + 900]).values_list("id", "name"))
        for school_id, (path, counts) in self.school_counts.items():
            owner = nodes.get(path)
            if owner is not None:
                owner.schools.append({"id": school_id, "name": names.get(school_id, ""), **counts.as_dict()})
        for node in nodes.values():
            node.schools.sort(key=lambda s: s["name"])

    def as_dict(self, *, with_schools: bool = False) -> dict[str, Any]:
        def table(d: dict[str, Counts]) -> list[dict[str, Any]]:
            return [{"key": k, **v.as_dict()} for k, v in d.items()]

        if with_schools:
            self.load_schools()
        return {
            "region": self.root.name,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            **self.root.counts.as_dict(),
            "by_mode": table(self.by_mode),
            "by_kind": table(self.by_kind),
            "by_area": table(self.by_area),
            "tree": self.root.as_dict(with_schools=with_schools),
        }


def _built_changes_after(
    user: Any, region: Region, as_of: dt.date, *, whole_tree: bool
) -> dict[tuple[int, int | None], int]:
    """Net classes that became built after as_of, per (school, mode): enters minus leaves.

    Read from the history's copied school/mode/built fields and its partial covering index,
    so only the changes after as_of that touched 已建 are read, and no class row.
    """
    rows = ClassStatusChange.objects.filter(changed_on__gt=as_of).exclude(built_delta=0)
    if not whole_tree:
        # Below the top of the tree the region's schools are few: walk them by the school index.
        schools = School.objects.for_user(user).filter(subtree_q("region_path", region.path))
        rows = rows.filter(school_id__in=schools.values("id"))
    # At the top every change is the region's; those outside the user's scope are dropped by
    # the caller, which keeps only (school, mode) pairs it read from the scoped roll-ups.
    return {
        (school_id, mode_id): n
        for school_id, mode_id, n in rows.order_by().values("school_id", "mode_id")
        .annotate(n=Sum("built_delta")).values_list("school_id", "mode_id", "n")
    }


def coverage(user: Any, region: Region, *, as_of: dt.date | None = None) -> CoverageReport:
    """Coverage of region and every region and school under it, as the user may see them.

    Sums the per-school-and-mode roll-ups (`org.ClassRollup`), minus the history after as_of.
    """
    rollups = scope_of(user).filter(
        ClassRollup.objects.filter(subtree_q("region_path", region.path)),
        region_path_field="region_path", school_field="school_id",
    )
    rows = list(rollups.order_by().values_list("school_id", "mode_id", "region_path", "kind", "is_rural",
                                               "classes", "built"))
    if as_of is not None and as_of < timezone.localdate():
        deltas = _built_changes_after(user, region, as_of, whole_tree=region.parent_id is None)
        if deltas:
            rows = [
                (s, m, p, k, r, total, max(0, built - deltas.get((s, m), 0)))
                for s, m, p, k, r, total, built in rows
            ]

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
    per_school: dict[int, tuple[str, Counts]] = {}
    per_path: dict[str, Counts] = defaultdict(Counts)
    for school_id, mode_id, path, kind, is_rural, total, built in rows:
        entry = per_school.get(school_id)
        if entry is None:
            entry = per_school[school_id] = (path, Counts())
        entry[1].add(total, built)
        per_path[path].add(total, built)
        by_mode[mode_names.get(mode_id, "未定模式") if mode_id else "未定模式"].add(total, built)
        by_kind[kind_labels.get(kind, kind)].add(total, built)
        by_area["农村" if is_rural else "城镇"].add(total, built)

    # Roll each place's counts up every ancestor within the report's region.
    for place, counts in per_path.items():
        path = place
        while len(path) >= len(region.path):
            ancestor = nodes.get(path)
            if ancestor is not None:
                ancestor.counts.add(counts.classes, counts.built)
            path = path[: path.rstrip("/").rfind("/") + 1]
    for node in nodes.values():
        node.children.sort(key=lambda n: (n.code, n.name))
    return CoverageReport(
        root=nodes[region.path], as_of=as_of, by_mode=dict(by_mode), by_kind=dict(by_kind), by_area=dict(by_area),
        school_counts=per_school,
    )


def yearly_built(user: Any, region: Region, years: list[int]) -> dict[int, int]:
    """Classes built at the end of each year (today for the current year), from today's counts
    minus the changes dated after each year's end — one grouped query, whatever the history."""
    from banbantong.org.queries import figures

    built_now = figures(user, region).built
    schools = School.objects.for_user(user).filter(subtree_q("region_path", region.path))
    rows = (
        ClassStatusChange.objects.filter(
            school_id__in=schools.values("id"), changed_on__gt=dt.date(min(years), 12, 31) if years else dt.date.min,
        )
        .exclude(built_delta=0)
        .order_by()
        .values("changed_on__year")
        .annotate(n=Sum("built_delta"))
        .values_list("changed_on__year", "n")
    )
    net_by_year: dict[int, int] = defaultdict(int)
    for year, n in rows:
        net_by_year[year] += n
    return {y: built_now - sum(n for yy, n in net_by_year.items() if yy > y) for y in years}
