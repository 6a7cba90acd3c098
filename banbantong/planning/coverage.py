"""Coverage (classes built or accepted ÷ all classes) at every level of the region tree, broken
down by terminal mode, school kind and rural/urban, today or as of any past date.

As of a date D, a class counted as built if its status on D was 已建 or 已验收. Today's counts are
always right, so the past is today's count minus the changes dated after D: each change that
entered "built" after D is taken back, each that left it is given back. Those come per school
and mode from the month-end roll-ups of the history plus at most a month of it
(`org.history_months`), whatever the span. The denominator is the classes registered today (a
bureau compares last December's built classes against the classes it has now).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from typing import Any

from django.db.models import QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext

from banbantong.core.bulk import raw_rows
from banbantong.core.jsonout import dumps
from banbantong.core.scope import scope_of, subtree_q
from banbantong.org.history_months import built_after
from banbantong.org.models import ClassRollup, Region, School
from banbantong.planning.mode_catalogue import Catalogue
from banbantong.planning.rules import coverage_float, coverage_percent


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
        return {"classes": self.classes, "built": self.built, "coverage_percent": coverage_float(self.built, self.classes)}


# (school id, name, region path, classes, built): a school's row as the database returns it, with
# built taken back to the report's date.
SchoolRow = tuple[int, str, str, int, int]


@dataclass
class Node:
    id: int
    name: str
    level: str
    path: str
    code: str = ""
    counts: Counts = field(default_factory=Counts)
    children: list[Node] = field(default_factory=list)
    # This place's own schools, by name. Rows hold the figures; the percentage and the JSON shape
    # are made when the rows are written out, as the tree's are (a province has 15,000).
    schools: list[SchoolRow] = field(default_factory=list)

    def as_dict(self, *, with_schools: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "name": self.name, "level": self.level, **self.counts.as_dict()}
        out["children"] = [c.as_dict(with_schools=with_schools) for c in self.children]
        if with_schools:
            out["schools"] = [
                {"id": school_id, "name": name, "classes": total, "built": built,
                 "coverage_percent": coverage_float(built, total)}
                for school_id, name, _, total, built in self.schools
            ]
        return out


@dataclass
class CoverageReport:
    root: Node
    as_of: dt.date | None
    by_mode: dict[str, Counts]
    by_kind: dict[str, Counts]
    by_area: dict[str, Counts]
    # The school level is read only when a caller wants its rows (export, API with
    # schools=true): a province has 15,000 of them, and the tables above need none.
    _user: Any = None
    _past: bool = False  # as_of is before today: what was built after it is taken back
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
        """Fill each node's `schools` with its own schools' rows, sorted by name (a report built
        with_schools has them already)."""
        if self._schools_loaded or self._user is None:
            return
        self._schools_loaded = True
        nodes = {n.path: n for ns in self.levels().values() for n in ns}
        with _no_cyclic_gc():  # 15,000 rows, no cycles: as in coverage()
            _school_rows(self._user, self.root.path, self.as_of if self._past else None, nodes, count=False)

    def as_json(self, *, with_schools: bool = False) -> str:
        """as_dict() encoded once, compact, with the cyclic collector held off: the tree of a
        province is ~10,000 small objects, and a collection in the middle of them was most of
        the API's p95."""
        if with_schools:
            self.load_schools()
        with _no_cyclic_gc():
            return dumps(self.as_dict(with_schools=with_schools), indent=None)

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


def _rollups(user: Any, root_path: str) -> QuerySet[ClassRollup]:
    return scope_of(user).filter(
        ClassRollup.objects.filter(subtree_q("region_path", root_path)).order_by(),
        region_path_field="region_path", school_field="school_id",
    )


GROUP = ("region_path", "mode_id", "kind", "is_rural")


def _ancestor_paths(path: str) -> list[str]:
    """'/1/4/17/' -> ['/1/4/', '/1/']."""
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[:i]) + "/" for i in range(len(parts) - 1, 0, -1)]


def coverage(user: Any, region: Region, *, as_of: dt.date | None = None, with_schools: bool = False) -> CoverageReport:
    """The report; with_schools: its school rows too (the export, `schools=true`), read under
    the same hold of the collector."""
    # A province builds ~1,500 nodes and thousands of small lists in a few tens of milliseconds;
    # none form reference cycles, so the cyclic collector's pauses (which doubled the p95) are
    # held off until the report is built.
    with _no_cyclic_gc():
        return _coverage(user, region, as_of=as_of, with_schools=with_schools)


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _coverage(user: Any, region: Region, *, as_of: dt.date | None, with_schools: bool) -> CoverageReport:
    """Coverage of region and every region (and, with_schools, school) under it, as the user may see.

    Without the school rows: the per-school-and-mode roll-ups (`org.ClassRollup`) summed by place,
    mode and kind in the database — a few thousand rows for a province — minus what was built
    after as_of grouped the same way. With them, the places' counts are the sums of the school
    rows read anyway, and only the mode/kind/area tables are grouped in the database (ten rows
    instead of thousands: a quarter of a province's report). A figure is never below zero,
    whatever a history repaired by hand may say.
    """
    past = as_of is not None and as_of < timezone.localdate()
    after = as_of if past else None
    nodes, parents = _region_nodes(user, region)
    tables = _Tables(region.path)
    orphans = Counts()  # places outside every listed region: counted at the root

    if with_schools:
        orphans = _school_rows(user, region.path, after, nodes, count=True)
        for (mode_id, kind, rural), (total, built) in _grouped(user, region.path, after, TABLE_GROUP).items():
            tables.add(mode_id, kind, rural, total, built)
    else:
        for (path, mode_id, kind, rural), (total, built) in _grouped(user, region.path, after, GROUP).items():
            owner = nodes.get(path) or _nearest(nodes, path)
            owner_counts = owner.counts if owner is not None else orphans
            owner_counts.classes += total
            owner_counts.built += built
            tables.add(mode_id, kind, rural, total, built)

    # Children before parents: each node hands its (already summed) counts to its parent once.
    for node, parent in parents:
        parent.counts.add(node.counts.classes, node.counts.built)
        parent.children.append(node)
    nodes[region.path].counts.add(orphans.classes, orphans.built)
    for node in nodes.values():
        node.children.sort(key=lambda n: (n.code, n.name))
        node.counts.built = max(0, node.counts.built)

    return CoverageReport(
        root=nodes[region.path], as_of=as_of, _past=past,
        by_mode=tables.counts(tables.by_mode), by_kind=tables.counts(tables.by_kind),
        by_area=tables.counts(tables.by_area), _user=user, _schools_loaded=with_schools,
    )


TABLE_GROUP = ("mode_id", "kind", "is_rural")


def _grouped(user: Any, root_path: str, after: dt.date | None, by: tuple[str, ...]) -> dict[tuple[Any, ...], list[int]]:
    """{key by `by`: [classes, built]} from the roll-ups, minus what was built after `after`
    grouped the same way, from the month-end roll-ups plus at most a month of history
    (org.history_months)."""
    groups: dict[tuple[Any, ...], list[int]] = {
        tuple(row[:-2]): [row[-2], row[-1]]
        for row in raw_rows(
            _rollups(user, root_path).values(*by).annotate(c=Sum("classes"), b=Sum("built")).values_list(*by, "c", "b")
        )
    }
    if after is not None:
        for *key, n in built_after(user, root_path, after, by=by):
            row = groups.get(tuple(key))
            if row is not None:
                row[1] -= n
    return groups


def _region_nodes(user: Any, region: Region) -> tuple[dict[str, Node], list[tuple[Node, Node]]]:
    """The regions the user may see under `region` by path, and (node, parent) pairs deepest first."""
    regions = raw_rows(
        Region.objects.for_user(user).filter(subtree_q("path", region.path)).order_by()
        .values_list("id", "name", "level", "path", "code")
    )
    if not any(r[0] == region.pk for r in regions):
        regions.append((region.pk, region.name, region.level, region.path, region.code))
    nodes = {path: Node(id=rid, name=name, level=level, path=path, code=code) for rid, name, level, path, code in regions}
    parents: list[tuple[Node, Node]] = []
    for path in sorted(nodes, key=len, reverse=True):
        parent_path = path[: path.rstrip("/").rfind("/") + 1]
        if path != region.path and parent_path in nodes:
            parents.append((nodes[path], nodes[parent_path]))
    return nodes, parents


def _nearest(nodes: dict[str, Node], path: str) -> Node | None:
    """A place under a region the user may not list counts at its nearest listed ancestor."""
    return next((nodes[p] for p in _ancestor_paths(path) if p in nodes), None)


def _school_rows(user: Any, root_path: str, after: dt.date | None, nodes: dict[str, Node], *, count: bool) -> Counts:
    """Append each school's row to its place's `schools`, by name; with `count`, add the schools'
    classes and built classes to their places too, and return what belongs to no listed place.

    Today's counts are the schools' own roll-ups (School.class_count / built_count, kept with
    ClassRollup by the same service): one read of the schools, nothing to add up. As of a past
    date, what each school built after it is taken back, from the month-end roll-ups summed by
    school in SQL. Runs once per row of a province's 15,000: names bound locally, the
    database's row kept unless its school built after the date.
    """
    taken_back: dict[int, int] = {}
    if after is not None:
        for school_id, n in built_after(user, root_path, after, by=("school_id",)):
            taken_back[school_id] = taken_back.get(school_id, 0) + n
    rows = raw_rows(
        School.objects.for_user(user).filter(subtree_q("region_path", root_path)).order_by()
        .values_list("id", "name", "region_path", "class_count", "built_count")
    )
    rows.sort(key=itemgetter(1))  # by name, once: each node's schools then come in order
    orphans = Counts()
    node_of, taken = nodes.get, taken_back.get
    for row in rows:
        school_id, name, path, total, built = row
        if (n := taken(school_id)) is not None:
            built = max(0, built - n)
            row = (school_id, name, path, total, built)
        owner = node_of(path)
        if owner is not None:
            owner.schools.append(row)
        elif count:
            owner = _nearest(nodes, path)
        if count:
            owner_counts = owner.counts if owner is not None else orphans
            owner_counts.classes += total
            owner_counts.built += built
    return orphans


class _Tables:
    """Coverage by mode (by the name the report's region gives it: it may rename), school kind
    and rural/urban, summed from rows keyed by (mode, kind, rural)."""

    def __init__(self, root_path: str) -> None:
        catalogue = Catalogue()
        self.mode_names = {mid: catalogue.name(root_path, mid) for mid in catalogue.by_id}
        self.kind_labels = {k: str(label) for k, label in School.Kind.choices}  # one str() per kind, not per row
        self.no_mode, self.rural, self.urban = gettext("未定模式"), gettext("农村"), gettext("城镇")  # once, not per row
        self.by_mode: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self.by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self.by_area: dict[str, list[int]] = defaultdict(lambda: [0, 0])

    def add(self, mode_id: int | None, kind: str, rural: bool, total: int, built: int) -> None:
        for table, key in (
            (self.by_mode, self.mode_names.get(mode_id, self.no_mode) if mode_id else self.no_mode),
            (self.by_kind, self.kind_labels.get(kind, kind)),
            (self.by_area, self.rural if rural else self.urban),
        ):
            acc = table[key]
            acc[0] += total
            acc[1] += built

    @staticmethod
    def counts(table: dict[str, list[int]]) -> dict[str, Counts]:
        return {k: Counts(total, max(0, built)) for k, (total, built) in table.items()}


def yearly_built(user: Any, region: Region, years: list[int]) -> dict[int, int]:
    """Classes built at the end of each year (today for the current year): today's count minus
    what was built after each year's end, from the month-end roll-ups (a year's end is a month
    end: the first chart of a year writes its rows, later ones read a row per school and mode)."""
    from banbantong.org.queries import figures

    built_now = figures(user, region).built
    today = timezone.localdate()
    out: dict[int, int] = {}
    for year in years:
        end = dt.date(year, 12, 31)
        # Grouped by the rural flag only to get the region's total in two rows.
        after = 0 if end >= today else sum(n for _, n in built_after(user, region.path, end, by=("is_rural",)))
        out[year] = built_now - after
    return out
