"""Planning writes and the loaders that feed the pure rules and planner.

Pages, API and the command line all call these, so their numbers are the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count, Min, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext

from banbantong.core import audit
from banbantong.core.models import AuditEntry
from banbantong.core.scope import path_ids, subtree_q
from banbantong.org.models import ClassStatusChange, Region, School, TeachingClass
from banbantong.org.survey.write import TableWriter
from banbantong.planning import rules
from banbantong.planning.mode_catalogue import Catalogue
from banbantong.planning.models import (
    CoverageTarget,
    FundingSource,
    PaymentTerms,
    Scenario,
    ScenarioItem,
)
from banbantong.planning.planner import Candidate, PlanResult, SchoolInfo, plan_rollout
from banbantong.planning.suggestions import RuleBook

SCENARIO_ITEM_FIELDS = ("scenario", "klass", "school", "year", "mode_code", "cost")
EARLIEST_YEAR = 2000
LATEST_YEAR = 2100
BULK_BATCH = 2000


def _check_planner(actor: Any) -> None:
    if actor is not None and (
        getattr(actor, "read_only", False)
        or not (actor.is_superuser or actor.role == actor.Role.BUREAU_ADMIN)
    ):
        raise PermissionDenied(gettext("只有局管理员可以修改规划、目标和经费。"))


def _money(value: object, what: str) -> Decimal | None:
    """A non-negative amount, or None when left blank; `what` names the field in the message
    (already in the active language)."""
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value).replace(",", "").replace("，", ""))
    except InvalidOperation:
        raise ValidationError(gettext("%(what)s“%(value)s”不是数字。") % {"what": what, "value": value}) from None
    if not amount.is_finite() or amount < 0:
        raise ValidationError(gettext("%(what)s不能为负数。") % {"what": what})
    return amount


def find_region(name: str, user: Any = None) -> Region:
    """A region by name, or by a path of names like 吉安市/吉水县 when the name is not unique."""
    parts = [p.strip() for p in name.replace("／", "/").split("/") if p.strip()]
    if not parts:
        raise ValidationError(gettext("请指定区域名称。"))
    qs = Region.objects.for_user(user) if user is not None else Region.objects.all()
    matches = [r for r in qs.filter(name=parts[-1]) if not parts[:-1] or r.full_name.endswith("".join(parts))]
    if not matches:
        raise ValidationError(gettext("找不到区域“%(name)s”。") % {"name": name})
    if len(matches) > 1:
        names = "、".join(r.full_name for r in matches)
        raise ValidationError(gettext("有多个区域叫“%(name)s”：%(names)s；请写成 上级/名称 的形式。") % {
            "name": name, "names": names})
    return matches[0]


# --- Catalogue and rule ------------------------------------------------------------------------


def unit_costs(region: Region) -> dict[str, Decimal]:
    """Unit cost by mode code in the region's catalogue (the nearest region's row wins)."""
    return {code: m.unit_cost for code, m in Catalogue.for_region(region).modes_at(region.path).items()}


# --- Targets -----------------------------------------------------------------------------------


def _first_data_year(region: Region) -> int | None:
    first = ClassStatusChange.objects.filter(subtree_q("klass__school__region_path", region.path)).aggregate(
        d=Min("changed_on")
    )["d"]
    return first.year if first else None


def _check_year(region: Region, year: int) -> None:
    if not (EARLIEST_YEAR <= year <= LATEST_YEAR):
        raise ValidationError(gettext("年份 %(year)s 不合理，应在 %(earliest)s–%(latest)s 之间。") % {
            "year": year, "earliest": EARLIEST_YEAR, "latest": LATEST_YEAR})
    first = _first_data_year(region)
    if first is not None and year < first:
        raise ValidationError(gettext("起始年份 %(year)s 早于本区域建设记录的开始年份 %(first)s。") % {
            "year": year, "first": first})


@transaction.atomic
def set_targets(region: Region, raw_targets: str | Sequence[object], *, start_year: int, actor: Any) -> list[CoverageTarget]:
    """Replace the region's yearly targets from start_year on; rising, within 0–100%."""
    _check_planner(actor)
    try:
        targets = rules.parse_targets(raw_targets)
    except rules.RuleError as exc:
        raise ValidationError(str(exc)) from None
    _check_year(region, start_year)
    before = {str(t.year): str(t.percent) for t in region.targets.all()}
    earlier = region.targets.filter(year__lt=start_year).order_by("-year").first()
    if earlier is not None and targets[0] < earlier.percent:
        raise ValidationError(gettext("%(year)s 年的目标 %(target)s%% 低于 %(earlier_year)s 年已定的 %(earlier)s%%。") % {
            "year": start_year, "target": targets[0], "earlier_year": earlier.year, "earlier": earlier.percent})
    region.targets.filter(year__gte=start_year).delete()
    created = CoverageTarget.objects.bulk_create(
        CoverageTarget(region=region, year=start_year + i, percent=t) for i, t in enumerate(targets)
    )
    audit.record(
        audit.Action.UPDATE, region, actor=actor, object_type="planning.CoverageTarget",
        before=before, after={str(t.year): str(t.percent) for t in region.targets.all()},
    )
    return created


# --- Planner -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanInput:
    region: Region
    targets: list[Decimal]
    start_year: int
    budget_per_year: Decimal | None
    unit_cost: Decimal | None


def prepare_plan(
    region: Region, *, targets: str | Sequence[object], start_year: int | str,
    budget_per_year: object = None, unit_cost: object = None,
) -> PlanInput:
    try:
        parsed = rules.parse_targets(targets)
    except rules.RuleError as exc:
        raise ValidationError(str(exc)) from None
    try:
        year = int(str(start_year))
    except ValueError:
        raise ValidationError(gettext("起始年份“%(year)s”不是年份。") % {"year": start_year}) from None
    _check_year(region, year)
    return PlanInput(region, parsed, year, _money(budget_per_year, gettext("每年预算上限")),
                     _money(unit_cost, gettext("每班单价")))


def run_planner(user: Any, spec: PlanInput) -> PlanResult:
    """Load the region's classes as the user sees them and plan their rollout."""
    region = spec.region
    classes = TeachingClass.objects.for_user(user).filter(subtree_q("school__region_path", region.path))
    book = RuleBook()  # each school's own region's rule and catalogue: a county may have its own
    schools: dict[int, dict[str, Any]] = {
        s["id"]: {**s, "classes": 0, "built": 0}
        for s in School.objects.for_user(user).filter(subtree_q("region_path", region.path))
        .values("id", "name", "kind", "is_rural", "region_path")
    }
    candidates: list[Candidate] = []
    total = built = 0
    open_statuses = {TeachingClass.Status.NOT_BUILT, TeachingClass.Status.PLANNED}
    for cid, school_id, grade, status, mode_id in classes.values_list("id", "school_id", "grade", "status", "mode_id"):
        school = schools[school_id]
        total += 1
        school["classes"] += 1
        # Classes being installed now count as reached: their money is already committed.
        if status not in open_statuses:
            built += 1
            school["built"] += 1
            continue
        path = school["region_path"]
        code = book.catalogue.code_of(mode_id) or book.code(path, school["kind"], grade)
        # Each class at its own region's price (a county that sets its own pays its own), unless
        # the plan is asked at one uniform price.
        cost = spec.unit_cost if spec.unit_cost is not None else book.catalogue.cost(path, code)
        candidates.append(Candidate(cid, school_id, grade, code, cost))
    if total == 0:
        raise ValidationError(gettext("%(region)s 没有教学班，无法规划。请先导入调查表。") % {"region": region.name})
    costs = unit_costs(region)
    return plan_rollout(
        schools=[SchoolInfo(s["id"], s["name"], s["kind"], s["is_rural"], s["classes"], s["built"]) for s in schools.values()],
        candidates=candidates, built_now=built, total_classes=total, targets=spec.targets,
        start_year=spec.start_year, unit_costs=costs, budget_per_year=spec.budget_per_year,
    )


@transaction.atomic
def save_scenario(user: Any, spec: PlanInput, *, name: str) -> Scenario:
    _check_planner(user)
    name = (name or "").strip() or f"{spec.region.name} {spec.start_year} 起规划"
    result = run_planner(user, spec)
    scenario = Scenario.objects.create(
        region=spec.region, name=name[:80], start_year=spec.start_year, targets=[str(t) for t in spec.targets],
        budget_per_year=spec.budget_per_year, unit_cost=spec.unit_cost, summary=result.as_dict(),
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    _write_items(scenario, result)
    audit.record(audit.Action.CREATE, scenario, actor=user, after={
        "name": scenario.name, **{k: v for k, v in scenario.summary.items() if k != "years"}})
    return scenario


def _write_items(scenario: Scenario, result: PlanResult) -> None:
    """One row per class assigned — ~90,000 for a province, written as plain tuples rather than
    model instances: COPY on PostgreSQL (psycopg would parse every multi-row INSERT's thousands
    of placeholders), multi-row INSERTs (the survey import's writer) on SQLite."""
    rows = ((scenario.pk, a.class_id, a.school_id, a.year, a.mode_code, a.cost) for a in result.assignments)
    if connection.vendor == "postgresql":
        qn = connection.ops.quote_name
        column = {f.name: str(f.column) for f in ScenarioItem._meta.concrete_fields}
        columns = ", ".join(qn(column[f]) for f in SCENARIO_ITEM_FIELDS)
        with connection.cursor() as cursor, cursor.cursor.copy(  # the psycopg cursor under Django's
            f"COPY {qn(ScenarioItem._meta.db_table)} ({columns}) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
        return
    items = TableWriter(ScenarioItem, SCENARIO_ITEM_FIELDS, now=timezone.now())
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BULK_BATCH:
            items.insert(batch)
            batch = []
    items.insert(batch)


@transaction.atomic
def adopt_scenario(scenario: Scenario, *, actor: Any) -> int:
    """Set the scenario's classes to 已规划 with their year; classes built since are left alone."""
    _check_planner(actor)
    scenario = Scenario.objects.select_for_update().get(pk=scenario.pk)
    if scenario.adopted_at is not None:
        raise ValidationError(gettext("方案“%(name)s”已于 %(date)s 采用。") % {
            "name": scenario.name, "date": f"{timezone.localtime(scenario.adopted_at):%Y-%m-%d}"})
    by_year: dict[int, list[int]] = {}
    for klass_id, year in scenario.items.values_list("klass_id", "year"):
        by_year.setdefault(year, []).append(klass_id)
    changed = 0
    for year, ids in sorted(by_year.items()):
        for i in range(0, len(ids), BULK_BATCH):
            changed += bulk_set_status(
                TeachingClass.objects.filter(id__in=ids[i : i + BULK_BATCH], status__in=[
                    TeachingClass.Status.NOT_BUILT, TeachingClass.Status.PLANNED]),
                TeachingClass.Status.PLANNED, actor=actor, planned_year=year,
                reason=f"采用规划方案“{scenario.name}”",
            )
    scenario.adopted_at = timezone.now()
    scenario.save(update_fields=["adopted_at"])
    audit.record(audit.Action.UPDATE, scenario, actor=actor, after={"adopted": True, "classes": changed})
    return changed


# --- Status in bulk ----------------------------------------------------------------------------


def bulk_set_status(
    classes: QuerySet[TeachingClass], status: str, *, actor: Any, reason: str = "",
    on: dt.date | None = None, planned_year: int | None = None,
) -> int:
    """Change the status of many classes at once: each change dated, in the history and audited.

    Moving backwards needs a reason, as for a single class.
    """
    from banbantong.org.services import is_backwards, refresh_school_counts

    if actor is not None and getattr(actor, "read_only", False):
        raise PermissionDenied(gettext("审计员账号只读，不能修改数据。"))
    if status not in TeachingClass.Status.values:
        raise ValidationError(gettext("未知的建设状态：%(status)s") % {"status": status})
    if status == TeachingClass.Status.PLANNED:
        # 已规划 always carries the year the class is to be equipped (issue: status lifecycle).
        if planned_year is None:
            raise ValidationError(gettext("设为“已规划”时必须填写计划建设年份。"))
        if not (EARLIEST_YEAR <= planned_year <= LATEST_YEAR):
            raise ValidationError(gettext("计划建设年份 %(year)s 不合理，应在 %(earliest)s–%(latest)s 之间。") % {
                "year": planned_year, "earliest": EARLIEST_YEAR, "latest": LATEST_YEAR})
    on = on or timezone.localdate()
    if on > timezone.localdate():
        raise ValidationError(gettext("变更日期 %(date)s 晚于今天：只能登记已经发生的变更。") % {"date": on})
    with transaction.atomic():
        # Re-select by id: the caller's queryset may carry joins and orderings of a list page.
        rows = list(
            TeachingClass.objects.filter(pk__in=classes.values("pk"))
            .exclude(status=status, planned_year=planned_year)
            .select_for_update(of=("self",))
            .select_related("school")
            .only("id", "status", "built_year", "planned_year", "school__region_path", "school_id")
        )
        if any(is_backwards(c.status, status) for c in rows) and not reason.strip():
            raise ValidationError(gettext("部分班级的建设状态将回退，必须填写原因。"))
        real_actor = actor if getattr(actor, "is_authenticated", False) else None
        from banbantong.core import context

        ctx = context.current()
        changes, entries = [], []
        for c in rows:
            before = {"status": c.status, "planned_year": c.planned_year, "built_year": c.built_year}
            if c.status != status:
                changes.append(ClassStatusChange(klass=c, old_status=c.status, new_status=status, changed_on=on,
                                                 actor=real_actor, reason=reason.strip()))
            c.status = status
            c.status_changed_on = on
            if status in TeachingClass.BUILT_STATUSES and c.built_year is None:
                c.built_year = on.year
            c.planned_year = planned_year if status == TeachingClass.Status.PLANNED else c.planned_year
            entries.append(AuditEntry(
                actor=real_actor, actor_name=getattr(real_actor, "username", "") or "系统",
                action=AuditEntry.Action.UPDATE, object_type="org.TeachingClass", object_id=str(c.pk),
                object_repr=f"教学班 {c.pk}", region_path=c.school.region_path, school_id=c.school_id,
                before=before, after={"status": status, "planned_year": c.planned_year, "built_year": c.built_year},
                ip=ctx.ip, request_id=ctx.request_id,
            ))
        TeachingClass.objects.bulk_update(
            rows, ["status", "status_changed_on", "built_year", "planned_year"], batch_size=BULK_BATCH
        )
        ClassStatusChange.objects.bulk_create(changes, batch_size=BULK_BATCH)
        AuditEntry.objects.bulk_create(entries, batch_size=BULK_BATCH)
        refresh_school_counts({c.school_id for c in rows})
    return len(rows)


# --- Budget ------------------------------------------------------------------------------------


def payment_terms(region: Region) -> PaymentTerms:
    ancestry = path_ids(region.path)
    found = {t.region_id: t for t in PaymentTerms.objects.filter(region_id__in=ancestry)}
    for rid in reversed(ancestry):
        if rid in found:
            return found[rid]
    return PaymentTerms(region=region)


MAX_LATER_YEARS = 10


def _share(value: object, what: str) -> Decimal:
    """'40', '40%' or '0.4' -> 0.40; within 0–100%. `what` is in the active language."""
    text = str(value if value is not None else "").strip().rstrip("%％")
    amount = _money(text, what)
    if amount is None:
        raise ValidationError(gettext("请填写%(what)s。") % {"what": what})
    if amount > 1:
        amount = amount / 100  # "40" means 40%
    if amount > 1:
        raise ValidationError(gettext("%(what)s应在 0–100%% 之间。") % {"what": what})
    return amount.quantize(Decimal("0.0001"))


@transaction.atomic
def set_payment_terms(
    region: Region, *, first_share: object, later_share_of_remainder: object, later_years: object, actor: Any
) -> PaymentTerms:
    """The region's payment terms (seeds: 40% in the installation year, then 50% of the rest in
    each of the next two years); its subregions follow them unless they set their own."""
    _check_planner(actor)
    first = _share(first_share, gettext("安装当年支付比例"))
    later = _share(later_share_of_remainder, gettext("其后每年支付余款比例"))
    try:
        years = int(str(later_years).strip())
    except ValueError:
        raise ValidationError(gettext("其后付款年数“%(years)s”不是整数。") % {"years": later_years}) from None
    if not (0 <= years <= MAX_LATER_YEARS):
        raise ValidationError(gettext("其后付款年数应在 0–%(max)s 年之间。") % {"max": MAX_LATER_YEARS})
    if years == 0 and first != 1:
        raise ValidationError(gettext("其后不再付款时，安装当年须付清（100%）。"))
    terms, _ = PaymentTerms.objects.select_for_update().get_or_create(region=region)
    fields = ["first_share", "later_share_of_remainder", "later_years"]
    before = audit.snapshot(terms, fields)
    terms.first_share, terms.later_share_of_remainder, terms.later_years = first, later, years
    terms.save()
    audit.record(audit.Action.UPDATE, terms, actor=actor, before=before, after=audit.snapshot(terms, fields))
    return terms


def budget_report(
    user: Any, region: Region, *, unit_cost: object = None, install_year: int | None = None
) -> dict[str, Any]:
    """Total, spent and remaining investment, and what is paid in each year.

    Contracts: the classes still to build, in the year their plan gives (已规划 with a year), and
    the rest in install_year (default: this year). Each contract is paid on the region's terms.
    """
    cost_override = _money(unit_cost, gettext("每班单价"))
    book = RuleBook()  # each school's own region's rule and catalogue: a county may have its own
    catalogue = book.catalogue
    install_year = install_year or timezone.localdate().year
    classes = TeachingClass.objects.for_user(user).filter(subtree_q("school__region_path", region.path))
    total = spent = Decimal(0)
    n_total = n_built = 0
    contracts: dict[int, Decimal] = {}
    for path, kind, grade, status, mode_id, planned_year in classes.values_list(
        "school__region_path", "school__kind", "grade", "status", "mode_id", "planned_year"
    ):
        code = catalogue.code_of(mode_id) or book.code(path, kind, grade)
        cost = cost_override if cost_override is not None else catalogue.cost(path, code)
        n_total += 1
        total += cost
        if status in TeachingClass.BUILT_STATUSES:
            n_built += 1
            spent += cost
            continue
        year = planned_year if status == TeachingClass.Status.PLANNED and planned_year else install_year
        contracts[year] = contracts.get(year, Decimal(0)) + cost
    if n_total == 0:
        raise ValidationError(gettext("%(region)s 没有教学班，无法测算经费。") % {"region": region.name})
    terms = payment_terms(region)
    payments: dict[int, Decimal] = {}
    per_contract = []
    for year, amount in sorted(contracts.items()):
        schedule = rules.payment_schedule(
            amount, year, first_share=terms.first_share,
            later_share_of_remainder=terms.later_share_of_remainder, later_years=terms.later_years,
        )
        per_contract.append({"install_year": year, "amount": amount, "payments": schedule})
        for y, p in schedule.items():
            payments[y] = payments.get(y, Decimal(0)) + p
    funding = _funding_by_year(region)
    years = sorted(set(payments) | set(funding))
    return {
        "region": region.name,
        "classes": n_total, "built": n_built, "remaining_classes": n_total - n_built,
        "total": total, "spent": spent, "remaining": total - spent,
        "contracts": per_contract,
        "cash_flow": [
            {"year": y, "payments": payments.get(y, Decimal(0)), "funding": funding.get(y, Decimal(0)),
             "gap": payments.get(y, Decimal(0)) - funding.get(y, Decimal(0))}
            for y in years
        ],
        "terms": {"first_share": terms.first_share, "later_share_of_remainder": terms.later_share_of_remainder,
                  "later_years": terms.later_years},
    }


def _funding_by_year(region: Region) -> dict[int, Decimal]:
    out: dict[int, Decimal] = {}
    for year, amount in region.funding.values_list("year", "amount"):
        out[year] = out.get(year, Decimal(0)) + amount
    return out


def target_progress(user: Any, region: Region) -> list[dict[str, Any]]:
    """Each child region (or the region itself when it has none) against its target for this year."""
    from banbantong.org.queries import child_figures, figures

    year = timezone.localdate().year
    rows = child_figures(user, region) or []
    subjects = [(r.region, r.figures) for r in rows] or [(region, figures(user, region))]
    out = []
    for reg, fig in subjects:
        target = _target_for(reg, year)
        needed = rules.classes_needed(target, fig.classes) if target is not None else None
        out.append({
            "region": reg, "classes": fig.classes, "built": fig.built, "coverage": fig.coverage,
            "target": target, "needed": needed,
            "on_track": None if needed is None else fig.built >= needed,
            "gap": None if needed is None else max(0, needed - fig.built),
        })
    return out


def _target_for(region: Region, year: int) -> Decimal | None:
    """The region's own target for the year, else the nearest ancestor's."""
    ancestry = path_ids(region.path)
    found = dict(
        CoverageTarget.objects.filter(region_id__in=ancestry, year=year).values_list("region_id", "percent")
    )
    for rid in reversed(ancestry):
        if rid in found:
            return found[rid]
    return None


def scenario_rows(scenario: Scenario) -> QuerySet[Any]:
    return (
        scenario.items.values("year", "school__name", "school__region__name", "mode_code")
        .annotate(classes=Count("id"), cost=Sum("cost"))
        .order_by("year", "school__region__name", "school__name")
    )


@transaction.atomic
def add_funding(region: Region, *, actor: Any, data: Any) -> FundingSource:
    """Record a funding source for a year. For 生均公用经费 the amount is pupils × per-pupil
    amount × share (the seeds' 10%), computed here so the figure can be checked."""
    _check_planner(actor)
    kind = (data.get("kind") or "").strip()
    if kind not in FundingSource.Kind.values:
        raise ValidationError(gettext("请选择经费来源。"))
    try:
        year = int(str(data.get("year") or "").strip())
    except ValueError:
        raise ValidationError(gettext("请填写年份。")) from None
    if not (EARLIEST_YEAR <= year <= LATEST_YEAR):
        raise ValidationError(gettext("年份 %(year)s 不合理。") % {"year": year})
    note = (data.get("note") or "").strip()[:200]
    if kind == FundingSource.Kind.PER_PUPIL_FUNDS:
        per_pupil = _money(data.get("per_pupil_amount"), gettext("生均标准"))
        share = _money(data.get("share"), gettext("统筹比例"))
        try:
            pupils = int(str(data.get("pupils") or "").strip())
        except ValueError:
            raise ValidationError(gettext("请填写学生数（整数）。")) from None
        if per_pupil is None or share is None or pupils < 0:
            raise ValidationError(gettext("生均公用经费需要学生数、生均标准和统筹比例。"))
        if share > 1:
            share = share / 100  # "10" means 10%
        amount = (Decimal(pupils) * per_pupil * share).quantize(rules.CENT)
        source = FundingSource.objects.create(region=region, year=year, kind=kind, amount=amount, pupils=pupils,
                                              per_pupil_amount=per_pupil, share=share, note=note)
    else:
        amount_in = _money(data.get("amount"), gettext("金额"))
        if amount_in is None:
            raise ValidationError(gettext("请填写金额。"))
        source = FundingSource.objects.create(region=region, year=year, kind=kind, amount=amount_in, note=note)
    audit.record(audit.Action.CREATE, source, actor=actor, after=audit.snapshot(source))
    return source
