"""A region's default-mode rule: which terminal mode each school kind and grade band gets.

The nearest region (itself, else an ancestor) that has rule lines decides the whole rule; with
none anywhere the seeds' rule applies (rules.DEFAULT_RULE_LINES). A county or city bureau admin
replaces its own lines, or drops them to follow its parent again. Pages and API call these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext

from banbantong.core import audit
from banbantong.core.scope import path_ids
from banbantong.org.models import Region, School
from banbantong.planning import rules
from banbantong.planning.mode_catalogue import names_at
from banbantong.planning.models import ModeRule, TerminalMode


@dataclass(frozen=True)
class EffectiveRule:
    lines: list[rules.RuleLine]
    own: bool  # the region has its own lines
    source: Region | None  # the region whose lines apply; None: the seeds' rule

    def as_dict(self, modes: Mapping[str, str]) -> dict[str, Any]:
        kinds = dict(School.Kind.choices)
        return {
            "own": self.own,
            "source": self.source.name if self.source else None,
            "source_id": self.source.pk if self.source else None,
            "lines": [
                {"kind": line.kind, "kind_label": kinds.get(line.kind, line.kind), "grade_min": line.grade_min,
                 "grade_max": line.grade_max, "mode": line.mode_code, "mode_name": modes.get(line.mode_code, "")}
                for line in self.lines
            ],
        }


def mode_names(region: Region | None = None) -> dict[str, str]:
    """Code -> name of the modes a rule may name: the region's catalogue (its own modes too)."""
    if region is None:
        return dict(TerminalMode.objects.filter(region__isnull=True).values_list("code", "name"))
    return names_at(region)


def effective_rule(region: Region) -> EffectiveRule:
    ancestry = path_ids(region.path)
    by_region: dict[int, list[rules.RuleLine]] = {}
    for line in ModeRule.objects.filter(region_id__in=ancestry).order_by("kind", "grade_min", "id"):
        by_region.setdefault(line.region_id, []).append(
            rules.RuleLine(line.kind, line.grade_min, line.grade_max, line.mode_code)
        )
    for rid in reversed(ancestry):
        if rid in by_region:
            source = region if rid == region.pk else Region.objects.get(pk=rid)
            return EffectiveRule(by_region[rid], own=rid == region.pk, source=source)
    return EffectiveRule(list(rules.DEFAULT_RULE_LINES), own=False, source=None)


def parse_lines(rows: Iterable[Mapping[str, Any]]) -> list[rules.RuleLine]:
    """Form or JSON rows to rule lines; wholly blank rows are skipped, unreadable grades refused."""
    lines: list[rules.RuleLine] = []
    for i, row in enumerate(rows, start=1):
        values = {k: str(row.get(k) if row.get(k) is not None else "").strip()
                  for k in ("kind", "grade_min", "grade_max", "mode")}
        if not any(values.values()):
            continue
        try:
            grade_min, grade_max = int(values["grade_min"]), int(values["grade_max"])
        except ValueError:
            raise ValidationError(gettext("第 %(n)s 行：年级必须是 %(min)s–%(max)s 的整数。") % {
                "n": i, "min": rules.GRADE_MIN, "max": rules.GRADE_MAX}) from None
        lines.append(rules.RuleLine(values["kind"], grade_min, grade_max, values["mode"]))
    return lines


def _check_admin(actor: Any) -> None:
    from banbantong.planning.services import _check_planner

    _check_planner(actor)


def _snapshot(region: Region) -> list[str]:
    return [str(line) for line in ModeRule.objects.filter(region=region).order_by("kind", "grade_min")]


@transaction.atomic
def set_mode_rule(region: Region, lines: list[rules.RuleLine], *, actor: Any) -> EffectiveRule:
    """Replace the region's own rule with these lines (all or nothing, audited)."""
    _check_admin(actor)
    kinds = dict(School.Kind.choices)
    errors = rules.check_rule_lines(lines, kinds=kinds, modes=mode_names(region))
    if errors:
        raise ValidationError(errors)
    Region.objects.select_for_update().filter(pk=region.pk).first()  # one editor at a time
    before = _snapshot(region)
    ModeRule.objects.filter(region=region).delete()
    ModeRule.objects.bulk_create(
        ModeRule(region=region, kind=line.kind, grade_min=line.grade_min, grade_max=line.grade_max,
                 mode_code=line.mode_code)
        for line in sorted(lines, key=lambda x: (x.kind, x.grade_min))
    )
    after = _snapshot(region)
    if after != before:
        audit.record(audit.Action.UPDATE, region, actor=actor, object_type="planning.ModeRule",
                     before={"lines": before}, after={"lines": after})
    return effective_rule(region)


@transaction.atomic
def clear_mode_rule(region: Region, *, actor: Any) -> EffectiveRule:
    """Drop the region's own lines: it follows its parent's rule (or the seeds') again."""
    _check_admin(actor)
    before = _snapshot(region)
    if before:
        ModeRule.objects.filter(region=region).delete()
        audit.record(audit.Action.UPDATE, region, actor=actor, object_type="planning.ModeRule",
                     before={"lines": before}, after={"lines": [], "inherit": True})
    return effective_rule(region)
