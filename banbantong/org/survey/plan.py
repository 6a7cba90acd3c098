"""Matching a parsed survey with what is stored: its regions, schools and classes.

Reads only, each table once (a province is 150,000 classes); the service counts and writes
from the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from banbantong.core.scope import subtree_q
from banbantong.org.models import Region, School, TeachingClass
from banbantong.org.survey.parse import ParsedSurvey, Target
from banbantong.org.survey.rules import ClassDecision, Placement, StoredClass
from banbantong.org.survey.write import BATCH_SIZE


@dataclass
class RegionNode:
    """A region a school of the survey hangs under: found stored, or to create."""

    name: str
    level: str
    parent: RegionNode | None
    id: int | None = None  # None until written
    path: str = ""

    @property
    def written_id(self) -> int:
        if self.id is None:
            raise RuntimeError(f"区域“{self.name}”尚未写入")  # parents are written before children
        return self.id


@dataclass
class Plan:
    """The survey matched with what is stored; school indexes are those of ParsedSurvey.schools."""

    top: RegionNode
    nodes: dict[Placement, RegionNode]  # includes the top, under ()
    school_ids: list[int | None]  # by school index; None: to create
    school_updates: list[int]  # school indexes whose stored kind differs
    stored_classes: dict[tuple[int, int, str], StoredClass]
    # Stored classes the survey changes, with what they become; filled while counting.
    class_updates: list[tuple[int, int, ClassDecision]] = field(default_factory=list)  # class, school


def make_plan(parsed: ParsedSurvey, target: Target) -> Plan:
    """Match the survey's regions, schools and classes with those stored, fetched once each."""
    top = RegionNode(target.name, target.level, None)
    children: dict[tuple[int, str], tuple[int, str]] = {}
    counties: dict[str, list[tuple[int, str]]] = {}
    if target.region is not None:
        top.id, top.path = target.region.pk, target.region.path
        for rid, name, parent_id, level, path in Region.objects.filter(
            subtree_q("path", target.region.path)
        ).values_list("id", "name", "parent_id", "level", "path"):
            children[(parent_id, name)] = (rid, path)
            if level == Region.Level.COUNTY:
                counties.setdefault(name, []).append((rid, path))

    nodes: dict[Placement, RegionNode] = {(): top}

    def node_for(placement: Placement) -> RegionNode:
        node = nodes.get(placement)
        if node is not None:
            return node
        parent = node_for(placement[:-1])
        name, level = placement[-1]
        node = RegionNode(name, level, parent)
        if parent.id is not None:
            found = children.get((parent.id, name))
            if found is None and level == Region.Level.COUNTY and len(counties.get(name, ())) == 1:
                # A province's survey names counties that already sit under their city.
                found = counties[name][0]
            if found is not None:
                node.id, node.path = found
        nodes[placement] = node
        return node

    for school in parsed.schools:
        node_for(school.placement)

    stored_schools: dict[tuple[int, str], tuple[int, str]] = {}
    stored_classes: dict[tuple[int, int, str], StoredClass] = {}
    if target.region is not None:
        for sid, region_id, name, kind in School.objects.filter(
            subtree_q("region_path", target.region.path)
        ).values_list("id", "region_id", "name", "kind").iterator(chunk_size=BATCH_SIZE):
            stored_schools[(region_id, name)] = (sid, kind)
    school_ids: list[int | None] = []
    school_updates: list[int] = []
    for index, school in enumerate(parsed.schools):
        node = nodes[school.placement]
        stored = stored_schools.get((node.id, school.name)) if node.id is not None else None
        school_ids.append(stored[0] if stored else None)
        if stored and stored[1] != school.kind:
            school_updates.append(index)
    touched = {sid for sid in school_ids if sid is not None}
    if touched and target.region is not None:
        for cid, school_id, grade, name, pupils, mode_id, status, built_year, changed_on in (
            TeachingClass.objects.filter(subtree_q("school__region_path", target.region.path))
            .values_list(
                "id", "school_id", "grade", "name", "pupils", "mode_id", "status", "built_year", "status_changed_on"
            )
            .iterator(chunk_size=BATCH_SIZE)
        ):
            if school_id in touched:
                stored_classes[(school_id, grade, name)] = StoredClass(
                    cid, pupils, mode_id, status, built_year, changed_on
                )
    return Plan(top, nodes, school_ids, school_updates, stored_classes)
