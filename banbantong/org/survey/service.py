"""The survey import service: one call reads a workbook and writes it, all or nothing.

import_survey resolves the region the survey covers (within the actor's scope), parses the
workbook, matches it with what is stored (plan.py), counts what would change and refuses
changes an import may not make, then writes in one transaction with one audit entry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from banbantong.core import audit
from banbantong.core.i18n import chinese
from banbantong.core.scope import path_ids, scope_of, subtree_q
from banbantong.org.models import Region, School, TeachingClass
from banbantong.org.services import (
    ensure_region,
    is_backwards,
    refresh_class_rollups,
    refresh_school_counts,
    school_is_rural,
)
from banbantong.org.survey.parse import (
    PROGRESS_EVERY,
    NullProgress,
    ParsedSurvey,
    Progress,
    Target,
    parse_survey,
)
from banbantong.org.survey.plan import Plan, RegionNode, make_plan
from banbantong.org.survey.report import RowError
from banbantong.org.survey.rules import (
    MAX_REGION_NAME,
    clean_name,
    guess_region_level,
    mode_key,
    updated_class,
)
from banbantong.org.survey.write import BATCH_SIZE, ClassWriter, TableWriter
from banbantong.planning.models import TerminalMode


class SurveyInvalid(ValidationError):
    """The survey has errors; nothing was written. `row_errors` names each one."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(
            f"调查表有 {len(errors)} 处错误，没有导入任何数据。请按错误报告逐条修改后重新导入。",
            code="survey_invalid",
        )
        self.row_errors = errors


@dataclass
class SurveyResult:
    region_name: str
    file_name: str
    sha256: str
    rows: int = 0
    regions_created: int = 0
    schools_created: int = 0
    schools_updated: int = 0
    schools_unchanged: int = 0
    classes_created: int = 0
    classes_updated: int = 0
    classes_unchanged: int = 0
    status_changes: int = 0
    classes_not_in_file: int = 0
    dry_run: bool = False
    region: Region | None = None

    COUNT_LABELS = (
        ("rows", "数据行"),
        ("regions_created", "新建区域"),
        ("schools_created", "新建学校"),
        ("schools_updated", "更新学校"),
        ("schools_unchanged", "学校无变化"),
        ("classes_created", "新建教学班"),
        ("classes_updated", "更新教学班"),
        ("classes_unchanged", "教学班无变化"),
        ("status_changes", "建设状态变更"),
        ("classes_not_in_file", "库中有而表中没有的教学班（不删除）"),
    )

    def counts(self) -> dict[str, int]:
        return {key: getattr(self, key) for key, _ in self.COUNT_LABELS}

    def labelled_counts(self) -> list[tuple[str, int]]:
        return [(label, getattr(self, key)) for key, label in self.COUNT_LABELS]


def check_can_import(actor: Any) -> None:
    """Only bureau admins import; the upload pages ask the same question before reading a file."""
    if actor is None:
        return  # the command line runs as the system
    if not getattr(actor, "can_import", False) or getattr(actor, "read_only", False):
        raise PermissionDenied("只有局管理员可以导入调查表。")


def survey_target(region: Region | str, *, actor: Any, level: str | None = None) -> Target:
    """Resolve the region a survey covers, checking it lies within the actor's scope."""
    check_can_import(actor)
    if isinstance(region, str):
        name = clean_name(region)
        if not name:
            raise ValidationError("请指定调查表所属的区域名称（市或区县）。")
        found = _find_region(name, actor)
        if found is None:
            if actor is not None and not scope_of(actor).everything:
                raise PermissionDenied(f"区域“{name}”不存在或不在您的管辖范围内。")
            if len(name) > MAX_REGION_NAME:
                raise ValidationError(f"区域名称太长（最多 {MAX_REGION_NAME} 个字）。")
            new_level = level or guess_region_level(name)
            if new_level == Region.Level.TOWN:
                raise ValidationError("调查表须导入到市或区县，不能新建为乡镇。")
            return Target(name=name, level=new_level, region=None)
        if level and found.level != level:
            raise ValidationError(
                f"区域“{name}”已存在，级别是“{chinese(Region.Level(found.level).label)}”，"
                f"与指定的“{chinese(Region.Level(level).label)}”不符。"
            )
        region = found
    elif actor is not None and not scope_of(actor).covers_path(region.path):
        raise PermissionDenied(f"区域“{region.name}”不在您的管辖范围内。")
    ancestors = frozenset(r.name for r in region.ancestors() if r.pk != region.pk)
    return Target(name=region.name, level=region.level, region=region, ancestor_names=ancestors)


def _find_region(name: str, actor: Any) -> Region | None:
    """A top-level region called name, else the shallowest one in scope; ambiguity is an error."""
    qs = Region.objects.filter(name=name)
    if actor is not None:
        qs = qs.for_user(actor)
    candidates = sorted(qs, key=lambda r: (r.depth, r.pk))
    if not candidates:
        return None
    shallowest = [r for r in candidates if r.depth == candidates[0].depth]
    if len(shallowest) > 1:
        paths = "、".join(r.full_name for r in shallowest[:5])
        raise ValidationError(f"有 {len(shallowest)} 个区域都叫“{name}”（{paths}），请在网页上选定区域后导入。")
    return shallowest[0]


def mode_lookup(target: Target) -> dict[str, int]:
    """Mode name/code/alias -> id: platform defaults, overridden by the region's own catalogue."""
    region_ids: list[int] = []
    if target.region is not None:
        region_ids = path_ids(target.region.path)
    depth = {rid: i for i, rid in enumerate(region_ids)}
    modes = sorted(
        TerminalMode.objects.filter(Q(region__isnull=True) | Q(region_id__in=region_ids)),
        key=lambda m: (-1 if m.region_id is None else depth.get(m.region_id, 0), m.pk),
    )
    lookup: dict[str, int] = {}
    for mode in modes:  # later (deeper) catalogues win
        for name in mode.names():
            if mode_key(name):
                lookup[mode_key(name)] = mode.pk
    return lookup


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def import_survey(
    path: Path,
    *,
    region: Region | str,
    actor: Any,
    level: str | None = None,
    file_name: str = "",
    dry_run: bool = False,
    progress: Progress | None = None,
) -> SurveyResult:
    """Import a survey workbook into region (or the region so named), all or nothing.

    Raises SurveyInvalid (a ValidationError) naming every bad row, PermissionDenied when the
    actor may not import there. With dry_run, only counts what an import would do.
    """
    progress = progress or NullProgress()
    target = survey_target(region, actor=actor, level=level)
    parsed = parse_survey(path, target=target, modes=mode_lookup(target), progress=progress)
    if parsed.errors:
        raise SurveyInvalid(parsed.errors)
    result = SurveyResult(
        region_name=target.name, file_name=file_name or path.name, sha256=file_sha256(path),
        dry_run=dry_run, region=target.region,
    )
    today = timezone.localdate()
    # A dry run only reads; it must not hold SQLite's write lock while the preview page renders.
    with nullcontext() if dry_run else transaction.atomic():
        plan = make_plan(parsed, target)
        errors = _count(parsed, plan, result, today=today)
        if errors:
            raise SurveyInvalid(errors)
        if not dry_run:
            _write(parsed, plan, result, actor=actor, today=today, progress=progress)
    return result


def _count(parsed: ParsedSurvey, plan: Plan, result: SurveyResult, *, today: dt.date) -> list[RowError]:
    """Fill result with what the import will do; return the changes an import may not make."""
    result.rows = parsed.rows_read
    result.regions_created = sum(1 for n in plan.nodes.values() if n.id is None)
    result.schools_created = sum(1 for i in plan.school_ids if i is None)
    result.schools_updated = len(plan.school_updates)
    result.schools_unchanged = len(plan.school_ids) - result.schools_created - result.schools_updated
    if not plan.stored_classes:  # nothing stored for these schools yet: every class is new
        result.classes_created = len(parsed.classes)
        result.status_changes = sum(
            1 for e in parsed.classes.values() if e.status not in (None, TeachingClass.Status.NOT_BUILT)
        )
        return []
    title, letter = parsed.status_column
    errors: list[RowError] = []
    seen = 0
    for entry in parsed.classes.values():
        school_id = plan.school_ids[entry.school]
        stored = plan.stored_classes.get((school_id, entry.grade, entry.name)) if school_id is not None else None
        if school_id is None or stored is None:
            result.classes_created += 1
            result.status_changes += entry.status not in (None, TeachingClass.Status.NOT_BUILT)
            continue
        seen += 1
        decision = updated_class(entry, stored, today=today)
        if decision.old_status is not None and is_backwards(stored.status, decision.status):
            errors.append(RowError(
                entry.row, title, letter,
                f"建设状态不能由导入从“{chinese(TeachingClass.Status(stored.status).label)}”退回"
                f"“{chinese(TeachingClass.Status(decision.status).label)}”；确需回退请在班级页面修改并填写原因。",
            ))
            continue
        if decision.changed:
            plan.class_updates.append((stored.id, school_id, decision))
        result.classes_updated += decision.changed
        result.classes_unchanged += not decision.changed
        result.status_changes += decision.old_status is not None
    result.classes_not_in_file = len(plan.stored_classes) - seen
    return errors


def _write(
    parsed: ParsedSurvey, plan: Plan, result: SurveyResult, *, actor: Any, today: dt.date, progress: Progress
) -> None:
    # Regions first, parents before children, through the one service that creates them.
    regions: dict[int, Region] = {}

    def region_of(node: RegionNode) -> Region:
        if node.written_id not in regions:
            regions[node.written_id] = Region.objects.get(pk=node.written_id)
        return regions[node.written_id]

    for placement in sorted(plan.nodes, key=len):
        node = plan.nodes[placement]
        if node.id is None:
            parent = region_of(node.parent) if node.parent is not None else None
            region, _ = ensure_region(node.name, level=node.level, parent=parent, actor=actor)
            node.id, node.path = region.pk, region.path
            regions[region.pk] = region
    top = region_of(plan.top)
    result.region = top
    now = timezone.now()
    db_now = TeachingClass._meta.get_field("updated_at").get_db_prep_save(now, connection)
    school_ids = _write_schools(parsed, plan, top, now=now, db_now=db_now)

    real_actor = actor if getattr(actor, "is_authenticated", False) else None
    writer = ClassWriter(
        actor_id=real_actor.pk if real_actor is not None else None,
        reason=f"调查表导入：{result.file_name}"[:200], now=now, db_now=db_now, today=today,
    )
    progress.stage("写入", len(parsed.classes))
    recount = {school_id for _, school_id, _ in plan.class_updates}
    for class_id, _, decision in plan.class_updates:
        writer.update(class_id, decision)
    done = len(plan.class_updates)
    stored = plan.stored_classes
    for entry in parsed.classes.values():
        school_id = school_ids[entry.school]
        if not stored or (school_id, entry.grade, entry.name) not in stored:
            writer.create(school_id, entry)
            done += 1
            if done >= PROGRESS_EVERY:
                progress.advance(done)
                done = 0
            if plan.school_ids[entry.school] is not None:
                recount.add(school_id)  # a stored school with a new class
    writer.finish()
    refresh_school_counts(recount)
    # New schools were inserted with their own counts; their per-mode roll-ups and history
    # fields, and those of schools whose kind changed, are still to write.
    refresh_class_rollups(
        [sid for sid, known in zip(school_ids, plan.school_ids, strict=True) if known is None]
        + [school_ids[i] for i in plan.school_updates]
    )
    progress.advance(done)

    audit.record(
        audit.Action.IMPORT, top, actor=actor,
        object_repr=f"调查表 {result.file_name}",
        after={**result.counts(), "file": result.file_name, "sha256": result.sha256},
    )


def _write_schools(
    parsed: ParsedSurvey, plan: Plan, top: Region, *, now: dt.datetime, db_now: Any
) -> list[int]:
    """Create and update the schools; return every school's id, by school index.

    A new school's classes are exactly its rows in the survey, so its roll-ups (教学班数,
    已建班数, 学生数, see School) are counted here and inserted with it.
    """
    rollups = _new_school_rollups(parsed, plan)
    table = TableWriter(
        School,
        ("region", "region_path", "name", "kind", "is_rural", "class_count", "built_count", "pupil_count"),
        now=now,
    )
    for start in range(0, len(parsed.schools), BATCH_SIZE):
        table.insert(
            (plan.nodes[s.placement].id, plan.nodes[s.placement].path, s.name, s.kind, school_is_rural(s.kind),
             *rollups.get(index, (0, 0, 0)))
            for index, s in enumerate(parsed.schools[start : start + BATCH_SIZE], start=start)
            if plan.school_ids[index] is None
        )
    table.update(
        ("kind", "is_rural", "updated_at"),
        [
            (parsed.schools[i].kind, school_is_rural(parsed.schools[i].kind), db_now, plan.school_ids[i])
            for i in plan.school_updates
        ],
    )
    if all(sid is not None for sid in plan.school_ids):
        return [sid for sid in plan.school_ids if sid is not None]
    # The new schools' ids, read back in one pass: executemany does not return them.
    ids = {
        (region_id, name): sid
        for sid, region_id, name in School.objects.filter(subtree_q("region_path", top.path))
        .values_list("id", "region_id", "name").iterator(chunk_size=BATCH_SIZE)
    }
    return [ids[(plan.nodes[s.placement].written_id, s.name)] for s in parsed.schools]


def _new_school_rollups(parsed: ParsedSurvey, plan: Plan) -> dict[int, list[int]]:
    """[classes, built classes, pupils] of each new school, by school index."""
    built = TeachingClass.BUILT_STATUSES
    rollups: dict[int, list[int]] = {}
    for entry in parsed.classes.values():
        if plan.school_ids[entry.school] is None:
            counts = rollups.get(entry.school)
            if counts is None:
                counts = rollups[entry.school] = [0, 0, 0]
            counts[0] += 1
            counts[1] += entry.status in built
            counts[2] += entry.pupils
    return rollups

