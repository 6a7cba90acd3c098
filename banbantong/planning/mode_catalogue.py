"""A region's catalogue of terminal modes: inherited, overridden, and its own (issue 3, item 1).

A region's catalogue is the platform's modes (rows with no region, from the seeds), then each
ancestor's own rows, then its own; for one code the nearest row wins. A county that renames or
reprices an inherited mode gets an override row with the same code — the city's row is left
alone — and a mode a county adds is seen by its towns and schools only. Budget, planner, mode
rule, suggestions and coverage resolve a class's mode and unit cost through `Catalogue`; the
modes page and the API write through `add_mode`, `edit_mode` and `delete_mode`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.http import Http404
from django.utils.translation import gettext, gettext_noop, ngettext

from banbantong.core import audit
from banbantong.core.scope import path_ids, subtree_q
from banbantong.org.models import ClassRollup, Region, TeachingClass
from banbantong.planning.models import ModeRule, TerminalMode

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
CODE_MAX = 30
NAME_MAX = 60
COMPONENTS_MAX = 200
ALIASES_MAX = 200
ALIAS_SEPARATORS = re.compile(r"[,，、;；]")
PLATFORM = gettext_noop("平台默认")
HERE = gettext_noop("本区域")
AUDIT_FIELDS = ["code", "name", "components", "unit_cost", "aliases"]


class Catalogue:
    """Every catalogue row (or those of one region's ancestry), read once, resolved per path.

    The table is small (a few rows per region that changed something), while the budget and
    the planner look up a mode for each of up to 150,000 classes in a few hundred places.
    """

    def __init__(self, rows: Iterable[TerminalMode] | None = None) -> None:
        rows = list(TerminalMode.objects.order_by("id") if rows is None else rows)
        self.by_id: dict[int, TerminalMode] = {m.pk: m for m in rows}
        self.by_region: dict[int | None, list[TerminalMode]] = {}
        for m in rows:
            self.by_region.setdefault(m.region_id, []).append(m)
        self._at: dict[str, dict[str, TerminalMode]] = {}

    @classmethod
    def for_region(cls, region: Region) -> Catalogue:
        """Only the rows a region and its ancestors see (enough for lookups at that region)."""
        ancestry = path_ids(region.path)
        return cls(TerminalMode.objects.filter(Q(region__isnull=True) | Q(region_id__in=ancestry)).order_by("id"))

    def modes_at(self, region_path: str) -> dict[str, TerminalMode]:
        """Code -> the row in force at the region with this path: platform first, nearest wins."""
        found = self._at.get(region_path)
        if found is None:
            found = {}
            for rid in [None, *path_ids(region_path)]:
                for m in self.by_region.get(rid, ()):
                    found[m.code] = m
            self._at[region_path] = found
        return found

    def mode(self, region_path: str, code: str) -> TerminalMode | None:
        return self.modes_at(region_path).get(code)

    def code_of(self, mode_id: int | None) -> str | None:
        m = self.by_id.get(mode_id) if mode_id is not None else None
        return m.code if m is not None else None

    def cost(self, region_path: str, code: str | None) -> Decimal:
        """A class's unit cost: its mode's price in force where its school is (0 if unknown)."""
        m = self.mode(region_path, code) if code else None
        return m.unit_cost if m is not None else Decimal(0)

    def name(self, region_path: str, mode_id: int | None) -> str:
        """A stored mode as the region sees it: renamed there if the region overrides it."""
        stored = self.by_id.get(mode_id) if mode_id is not None else None
        if stored is None:
            return ""
        shown = self.mode(region_path, stored.code)
        return shown.name if shown is not None else stored.name


@dataclass(frozen=True)
class Entry:
    """One line of a region's catalogue as the modes page and the API show it."""

    mode: TerminalMode  # the row in force
    own: bool  # the row is the region's own
    inherited: TerminalMode | None  # what the region would have without its own row
    source_name: str  # where the row in force comes from: 本区域, an ancestor's name or 平台默认
    inherited_from: str  # where `inherited` comes from
    classes: int = 0  # classes of the region's subtree with this mode

    @property
    def source_label(self) -> str:
        """Where the row comes from, in the page's language (the API's is Chinese)."""
        if not self.own:
            return gettext("继承自%(place)s") % {"place": place_label(self.source_name)}
        if self.inherited is None:
            return gettext("本区域新增")
        return gettext("本区域（覆盖%(place)s）") % {"place": self.inherited_from_label}

    @property
    def inherited_from_label(self) -> str:
        return place_label(self.inherited_from)

    @property
    def aliases(self) -> str:
        return "、".join(a for a in self.mode.aliases.split(",") if a)

    def as_dict(self) -> dict[str, Any]:
        m = self.mode
        return {
            "id": m.pk, "code": m.code, "name": m.name, "components": m.components, "unit_cost": m.unit_cost,
            "aliases": [a for a in m.aliases.split(",") if a], "own": self.own,
            "overrides": self.own and self.inherited is not None, "source": self.source_label,
            "classes": self.classes,
        }


def place_label(name: str) -> str:
    """A source name as a page shows it: 平台默认 and 本区域 are words of the interface, a
    region's name is data."""
    return gettext(name) if name in (PLATFORM, HERE) else name


def _region_names(ancestry: list[int]) -> dict[int | None, str]:
    names: dict[int | None, str] = dict(Region.objects.filter(pk__in=ancestry).values_list("id", "name"))
    names[None] = PLATFORM
    return names


def entries(region: Region) -> list[Entry]:
    """The region's catalogue: platform modes first, then the others in the order they were added."""
    ancestry = path_ids(region.path)
    cat = Catalogue.for_region(region)
    parent = cat.modes_at(_parent_path(region.path))
    names = _region_names(ancestry)
    names[region.pk] = HERE
    used = classes_by_code(region, cat)
    out = []
    for code, m in sorted(cat.modes_at(region.path).items(), key=lambda kv: (kv[1].region_id is not None, kv[1].pk)):
        below = parent.get(code)
        out.append(Entry(
            mode=m, own=m.region_id == region.pk, inherited=below if m.region_id == region.pk else None,
            source_name=names.get(m.region_id, ""), inherited_from=names.get(below.region_id, "") if below else "",
            classes=used.get(code, 0),
        ))
    out.sort(key=lambda e: (e.inherited is None and e.own, (e.inherited or e.mode).pk))
    return out


def entry(region: Region, code: str) -> Entry:
    """One mode of the region's catalogue, or 404 (a sibling's own mode is not in it)."""
    for e in entries(region):
        if e.mode.code == code:
            return e
    raise Http404(gettext("本区域的模式目录中没有代码为“%(code)s”的模式。") % {"code": code})


def _parent_path(path: str) -> str:
    return path[: path.rstrip("/").rfind("/") + 1]


def classes_by_code(region: Region, cat: Catalogue | None = None) -> dict[str, int]:
    """Classes of the region's subtree per mode code, from the per-school roll-ups."""
    cat = cat or Catalogue()
    ids = (
        ClassRollup.objects.filter(subtree_q("region_path", region.path), mode__isnull=False)
        .values("mode_id").annotate(n=Sum("classes")).values_list("mode_id", "n")
    )
    missing = {mid for mid, _ in ids if mid not in cat.by_id}
    codes = {m.pk: m.code for m in cat.by_id.values()}
    codes.update(TerminalMode.objects.filter(pk__in=missing).values_list("id", "code"))
    out: dict[str, int] = {}
    for mid, n in ids:
        code = codes.get(mid)
        if code:
            out[code] = out.get(code, 0) + (n or 0)
    return out


def names_at(region: Region) -> dict[str, str]:
    """Code -> name in the region's catalogue (for the mode rule's choices and checks)."""
    return {code: m.name for code, m in Catalogue.for_region(region).modes_at(region.path).items()}


# --- Writes --------------------------------------------------------------------------------------


def _check_admin(actor: Any) -> None:
    from banbantong.planning.services import _check_planner

    _check_planner(actor)


def _text(value: object) -> str:
    return str(value if value is not None else "").strip()


def _aliases(value: object) -> str:
    if isinstance(value, list | tuple):
        parts = [_text(v) for v in value]
    else:
        parts = [p.strip() for p in ALIAS_SEPARATORS.split(_text(value))]
    seen: list[str] = []
    for p in parts:
        if p and p not in seen:
            seen.append(p)
    return ",".join(seen)


def _cost(value: object, errors: list[str]) -> Decimal | None:
    from banbantong.planning.services import _money

    try:
        amount = _money(value, gettext("每班单价"))
    except ValidationError as exc:
        errors.extend(exc.messages)
        return None
    if amount is None:
        errors.append(gettext("请填写每班单价（元）。"))
    elif amount >= Decimal("1e8"):
        errors.append(gettext("每班单价 %(amount)s 元过大，请检查是否多写了零。") % {"amount": amount})
    else:
        return amount.quantize(Decimal("0.01"))  # as stored, so the audit shows what the row holds
    return None


def _check_fields(
    region: Region, code: str, name: str, components: str, aliases: str, errors: list[str]
) -> None:
    if not name:
        errors.append(gettext("请填写模式名称。"))
    elif len(name) > NAME_MAX:
        errors.append(gettext("模式名称最长 %(max)s 个字。") % {"max": NAME_MAX})
    else:
        for other_code, other in Catalogue.for_region(region).modes_at(region.path).items():
            if other_code != code and other.name == name:
                errors.append(gettext("名称“%(name)s”已被本区域目录中的模式“%(code)s”使用，请换一个名称。") % {
                    "name": name, "code": other.code})
    if len(components) > COMPONENTS_MAX:
        errors.append(gettext("设备组成最长 %(max)s 个字。") % {"max": COMPONENTS_MAX})
    if len(aliases) > ALIASES_MAX:
        errors.append(gettext("别名合计最长 %(max)s 个字。") % {"max": ALIASES_MAX})


def _owner(mode: TerminalMode) -> str:
    return mode.region.name if mode.region is not None else PLATFORM


def _lock(region: Region) -> None:
    Region.objects.select_for_update().filter(pk=region.pk).first()  # one editor of a catalogue at a time


@transaction.atomic
def add_mode(
    region: Region, *, actor: Any, code: object, name: object, unit_cost: object,
    components: object = "", aliases: object = "",
) -> TerminalMode:
    """A mode of the region's own, seen by the region and everything under it."""
    _check_admin(actor)
    _lock(region)
    errors: list[str] = []
    code_s, name_s = _text(code).lower(), _text(name)
    components_s, aliases_s = _text(components), _aliases(aliases)
    if not code_s:
        errors.append(gettext("请填写模式代码（如 jishui_panel）。"))
    elif len(code_s) > CODE_MAX or not CODE_PATTERN.match(code_s):
        errors.append(gettext("模式代码“%(code)s”只能用小写字母、数字、下划线或短横线，最长 %(max)s 位，如 jishui_panel。") % {
            "code": code_s, "max": CODE_MAX})
    else:
        existing = Catalogue.for_region(region).mode(region.path, code_s)
        if existing is not None:
            owner = (place_label(HERE) if existing.region_id == region.pk
                     else gettext("继承自%(place)s") % {"place": place_label(_owner(existing))})
            errors.append(gettext("代码“%(code)s”已在本区域的模式目录中（%(name)s，%(owner)s）；要改名称或单价请编辑该模式。") % {
                "code": code_s, "name": existing.name, "owner": owner})
        below = TerminalMode.objects.filter(subtree_q("region__path", region.path), code=code_s).exclude(region=region)
        for m in below.select_related("region")[:1]:
            errors.append(gettext("下级区域“%(region)s”已有代码为“%(code)s”的模式，请换一个代码。") % {
                "region": m.region.name if m.region else "", "code": code_s})
    amount = _cost(unit_cost, errors)
    _check_fields(region, code_s, name_s, components_s, aliases_s, errors)
    if errors or amount is None:
        raise ValidationError(errors)
    mode = TerminalMode.objects.create(region=region, code=code_s, name=name_s, components=components_s,
                                       unit_cost=amount, aliases=aliases_s)
    audit.record(audit.Action.CREATE, mode, actor=actor, after=audit.snapshot(mode, AUDIT_FIELDS),
                 place=(region.path, None))
    return mode


@transaction.atomic
def edit_mode(
    region: Region, code: str, *, actor: Any, name: object = None, components: object = None,
    unit_cost: object = None, aliases: object = None,
) -> TerminalMode:
    """Change a mode for the region (None: leave as is). An inherited mode gets an override row
    of the region's own; the parent's row (or the platform's) is never changed from below."""
    _check_admin(actor)
    _lock(region)
    current = entry(region, code).mode
    errors: list[str] = []
    name_s = current.name if name is None else _text(name)
    components_s = current.components if components is None else _text(components)
    aliases_s = current.aliases if aliases is None else _aliases(aliases)
    amount = current.unit_cost if unit_cost is None else _cost(unit_cost, errors)
    _check_fields(region, current.code, name_s, components_s, aliases_s, errors)
    if errors or amount is None:
        raise ValidationError(errors)
    changed = (name_s, components_s, amount, aliases_s) != (
        current.name, current.components, current.unit_cost, current.aliases)
    if not changed:
        return current
    before = audit.snapshot(current, AUDIT_FIELDS)
    if current.region_id == region.pk:
        mode = current
        action = audit.Action.UPDATE
    else:
        mode = TerminalMode(region=region, code=current.code)
        action = audit.Action.CREATE
        before["inherited_from"] = _owner(current)
    mode.name, mode.components, mode.unit_cost, mode.aliases = name_s, components_s, amount, aliases_s
    mode.save()
    audit.record(action, mode, actor=actor, before=before, after=audit.snapshot(mode, AUDIT_FIELDS),
                 place=(region.path, None))
    return mode


@transaction.atomic
def delete_mode(region: Region, code: str, *, actor: Any) -> TerminalMode | None:
    """Drop the region's own row for a mode.

    An override goes back to the inherited mode (classes that stored the override are moved
    to it: same code, same equipment). A mode of the region's own goes only when no class and
    no rule line of the region or below uses it. Returns the row now in force, if any.
    """
    from banbantong.org.services import refresh_school_counts

    _check_admin(actor)
    _lock(region)
    e = entry(region, code)
    mode = e.mode
    if not e.own:
        raise ValidationError(gettext(
            "模式“%(name)s”继承自%(place)s，本区域没有自己的设置可删除；不想再用它，请在默认模式规则中改选其他模式。"
        ) % {"name": mode.name, "place": place_label(e.source_name)})
    before = audit.snapshot(mode, AUDIT_FIELDS)
    if e.inherited is not None:
        moved = list(TeachingClass.objects.filter(mode=mode).values_list("school_id", flat=True).distinct())
        TeachingClass.objects.filter(mode=mode).update(mode=e.inherited)
        if moved:
            refresh_school_counts(moved)
        mode_id = mode.pk
        mode.delete()
        mode.pk = mode_id
        audit.record(audit.Action.DELETE, mode, actor=actor, before=before,
                     after={"restored": e.inherited_from, "unit_cost": str(e.inherited.unit_cost)},
                     place=(region.path, None))
        return e.inherited
    rows = TerminalMode.objects.filter(subtree_q("region__path", region.path), code=mode.code)
    errors = []
    classes = TeachingClass.objects.filter(mode__in=rows).count()
    if classes:
        errors.append(ngettext(
            "有 %(count)s 个教学班使用模式“%(name)s”，不能删除；请先把这些班改为其他模式。",
            "有 %(count)s 个教学班使用模式“%(name)s”，不能删除；请先把这些班改为其他模式。", classes,
        ) % {"count": classes, "name": mode.name})
    lines = ModeRule.objects.filter(subtree_q("region__path", region.path), mode_code=mode.code)
    n_lines = lines.count()
    if n_lines:
        places = "、".join(sorted(set(lines.values_list("region__name", flat=True)))[:5])
        errors.append(ngettext(
            "默认模式规则中有 %(count)s 行使用模式“%(name)s”（%(places)s），不能删除；请先修改规则。",
            "默认模式规则中有 %(count)s 行使用模式“%(name)s”（%(places)s），不能删除；请先修改规则。", n_lines,
        ) % {"count": n_lines, "name": mode.name, "places": places})
    if errors:
        raise ValidationError(errors)
    removed = [m.region.name if m.region else "" for m in rows.select_related("region") if m.pk != mode.pk]
    mode_id = mode.pk
    rows.delete()
    mode.pk = mode_id
    audit.record(audit.Action.DELETE, mode, actor=actor, before=before,
                 after={"deleted": True, **({"also_below": removed} if removed else {})},
                 place=(region.path, None))
    return None
