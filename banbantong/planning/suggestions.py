"""Suggested modes: a class with no terminal mode is shown the mode its region's rule gives it,
marked 建议 (suggested), until a bureau admin confirms it (issue: rollout planning, item 1).

A suggestion is never stored: it is worked out from the rule in force when it is shown, so
editing the rule changes every suggestion at once. Confirming stores the mode on the class.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from banbantong.core.models import AuditEntry
from banbantong.core.scope import path_ids
from banbantong.org.models import TeachingClass
from banbantong.planning import rules
from banbantong.planning.mode_catalogue import Catalogue
from banbantong.planning.models import ModeRule, TerminalMode

SUGGESTED_MARK = gettext_noop("（建议）")
CHUNK = 900  # below SQLite's bound-parameter limit


class RuleBook:
    """Every region's rule lines and catalogue, read once, resolved per region path.

    A list page or a bulk confirmation looks up thousands of classes in a few hundred places;
    the rule and catalogue tables are small, so they are read whole instead of per class.
    """

    def __init__(self) -> None:
        self.lines: dict[int, list[rules.RuleLine]] = defaultdict(list)
        for line in ModeRule.objects.order_by("grade_min", "id"):
            self.lines[line.region_id].append(rules.RuleLine(line.kind, line.grade_min, line.grade_max, line.mode_code))
        self.catalogue = Catalogue()
        self._lines_at: dict[str, list[rules.RuleLine]] = {}
        self.mark = gettext(SUGGESTED_MARK)  # in the page's language, once per list, not per class

    def lines_at(self, region_path: str) -> list[rules.RuleLine]:
        """The nearest region on the path that has lines decides (none anywhere: the seeds' rule)."""
        found = self._lines_at.get(region_path)
        if found is None:
            found = next((self.lines[rid] for rid in reversed(path_ids(region_path)) if rid in self.lines), [])
            self._lines_at[region_path] = found
        return found

    def code(self, region_path: str, kind: str, grade: int) -> str:
        return rules.mode_for(kind, grade, self.lines_at(region_path))

    def mode(self, region_path: str, kind: str, grade: int) -> TerminalMode | None:
        """The catalogue entry for the suggested mode: the nearest region's own, else the default."""
        return self.catalogue.mode(region_path, self.code(region_path, kind, grade))

    def label(self, klass: TeachingClass) -> str:
        """The mode as a class list shows it: the stored one, or the suggestion marked 建议."""
        if klass.mode_id is not None:  # by the name the class's region gives it (it may rename)
            return self.catalogue.name(klass.school.region_path, klass.mode_id)
        mode = self.mode(klass.school.region_path, klass.school.kind, klass.grade)
        return f"{mode.name}{self.mark}" if mode else ""


def suggestion_summary(classes: QuerySet[TeachingClass]) -> dict[str, Any]:
    """How many of these classes have no mode, and what the rule suggests for them."""
    book = RuleBook()
    pending = classes.filter(mode__isnull=True).order_by().values_list("school__region_path", "school__kind", "grade")
    by_mode: Counter[str] = Counter()
    missing = gettext("（规则中的模式不在目录中）")
    for path, kind, grade in pending.iterator(chunk_size=5000):
        mode = book.mode(path, kind, grade)
        by_mode[mode.name if mode else missing] += 1
    return {"pending": sum(by_mode.values()), "by_mode": dict(by_mode.most_common())}


def _check_admin(actor: Any) -> None:
    if actor is not None and (
        getattr(actor, "read_only", False) or not (actor.is_superuser or actor.role == actor.Role.BUREAU_ADMIN)
    ):
        raise PermissionDenied(gettext("只有局管理员可以确认班班通模式。"))


def confirm_suggested_modes(classes: QuerySet[TeachingClass], *, actor: Any) -> int:
    """Store the suggested mode on every class of `classes` that has none; audited per class.

    Classes that already have a mode are left alone. Returns how many were confirmed.
    """
    from banbantong.core import context
    from banbantong.org.services import refresh_school_counts

    _check_admin(actor)
    book = RuleBook()
    scoped = TeachingClass.objects.filter(pk__in=classes.values("pk"))
    if actor is not None:
        scoped = scoped.filter(pk__in=TeachingClass.objects.for_user(actor).values("pk"))
    real_actor = actor if getattr(actor, "is_authenticated", False) else None
    ctx = context.current()
    with transaction.atomic():
        rows = list(
            scoped.filter(mode__isnull=True).select_for_update(of=("self",)).order_by("id")
            .values_list("id", "school_id", "grade", "school__region_path", "school__kind")
        )
        by_mode: dict[int, list[int]] = defaultdict(list)
        entries = []
        for cid, school_id, grade, path, kind in rows:
            mode = book.mode(path, kind, grade)
            if mode is None:  # a rule naming a mode missing from the catalogue: nothing to store
                continue
            by_mode[mode.pk].append(cid)
            entries.append(AuditEntry(
                actor=real_actor, actor_name=getattr(real_actor, "username", "") or "系统",
                action=AuditEntry.Action.UPDATE, object_type="org.TeachingClass", object_id=str(cid),
                object_repr=f"教学班 {cid}", region_path=path, school_id=school_id,
                before={"mode": None}, after={"mode": mode.code, "confirmed": "建议模式"},
                ip=ctx.ip, request_id=ctx.request_id,
            ))
        now = timezone.now()
        for mode_id, ids in by_mode.items():
            for i in range(0, len(ids), CHUNK):
                TeachingClass.objects.filter(id__in=ids[i : i + CHUNK]).update(mode_id=mode_id, updated_at=now)
        AuditEntry.objects.bulk_create(entries, batch_size=2000)
        refresh_school_counts({school_id for _, school_id, *_ in rows})
    return len(entries)
