"""Planning arithmetic (pure, no ORM): coverage, targets, the payment schedule.

Every figure the seeds give is reproduced here and tested in planning/tests/test_rules_seeds.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.translation import gettext

COVERAGE_DECIMALS = 1
CENT = Decimal("0.01")

# Seeds: installed in one year, paid over three — 40% at the end of the installation year,
# then 50% of the remainder in each of the next two years (DESIGN §3.3).
FIRST_PAYMENT_SHARE = Decimal("0.40")
LATER_PAYMENT_SHARE_OF_REMAINDER = Decimal("0.50")
LATER_PAYMENT_YEARS = 2


class RuleError(ValueError):
    """Bad planning input; the message says what to fix, in the active language (Chinese for the API
    and the command line, which never switch)."""


def coverage_percent(built: int, total: int) -> Decimal:
    """233 of 880 -> 26.5; 283 of 1469 -> 19.3; no classes -> 0.0 (shown as 无数据 by pages)."""
    if total <= 0:
        return Decimal("0.0")
    if built >= 0:
        # Half up in integers (a province report computes this for every one of ~1,500 regions):
        # units of 10^-COVERAGE_DECIMALS percent, rounded by adding half a unit before dividing.
        scale = 10 ** (2 + COVERAGE_DECIMALS)
        return Decimal((2 * built * scale + total) // (2 * total)).scaleb(-COVERAGE_DECIMALS)
    value = Decimal(built) * 100 / Decimal(total)
    return value.quantize(Decimal(1).scaleb(-COVERAGE_DECIMALS), rounding=ROUND_HALF_UP)


_UNITS_PER_PERCENT = 10**COVERAGE_DECIMALS
_PERCENT_UNITS = 100 * _UNITS_PER_PERCENT  # a whole, in units of 10^-COVERAGE_DECIMALS percent


def coverage_float(built: int, total: int) -> float:
    """float(coverage_percent(built, total)), without the Decimal: JSON rows of 15,000 schools."""
    if total <= 0 or built < 0:
        return float(coverage_percent(built, total))
    # Integer over integer is correctly rounded, as float() of the Decimal is.
    return ((2 * built * _PERCENT_UNITS + total) // (2 * total)) / _UNITS_PER_PERCENT


def parse_targets(raw: str | Sequence[object]) -> list[Decimal]:
    """'40,60,80,100' -> [40, 60, 80, 100]; each a percentage, rising, within 0–100."""
    items = [s.strip() for s in raw.replace("，", ",").split(",")] if isinstance(raw, str) else list(raw)
    if not items or items == [""]:
        raise RuleError(gettext("请填写至少一个年度覆盖率目标，例如 40,60,80,100。"))
    targets: list[Decimal] = []
    for i, item in enumerate(items, start=1):
        text = str(item).strip().rstrip("%％")
        try:
            value = Decimal(text)
        except (InvalidOperation, ValueError):
            raise RuleError(gettext("第 %(n)s 个目标“%(item)s”不是数字。") % {"n": i, "item": item}) from None
        if not value.is_finite() or value < 0 or value > 100:
            raise RuleError(gettext("第 %(n)s 个目标 %(value)s%% 超出 0–100%% 的范围。") % {"n": i, "value": text})
        if targets and value <= targets[-1]:
            raise RuleError(gettext("目标必须逐年上升：第 %(n)s 个目标 %(value)s%% 不高于上一年的 %(previous)s%%。") % {
                "n": i, "value": text, "previous": targets[-1]})
        targets.append(value)
    return targets


def classes_needed(target_percent: Decimal, total_classes: int) -> int:
    """Classes that must be built to reach the target: ceiling of target × classes.

    Jishui: 40% of 1,469 = 587.6 -> 588.
    """
    exact = Decimal(total_classes) * Decimal(target_percent) / 100
    return int(math.ceil(exact))


def yearly_additions(built_now: int, targets: Sequence[Decimal], total_classes: int) -> list[int]:
    """Classes to equip in each year so that the end-of-year totals meet the targets."""
    additions: list[int] = []
    reached = built_now
    for target in targets:
        need = max(0, classes_needed(target, total_classes) - reached)
        additions.append(need)
        reached += need
    return additions


def payment_schedule(
    amount: Decimal,
    install_year: int,
    *,
    first_share: Decimal = FIRST_PAYMENT_SHARE,
    later_share_of_remainder: Decimal = LATER_PAYMENT_SHARE_OF_REMAINDER,
    later_years: int = LATER_PAYMENT_YEARS,
) -> dict[int, Decimal]:
    """What is paid each year for a contract installed in install_year.

    9,058,000 installed in year Y -> Y: 3,623,200; Y+1: 2,717,400; Y+2: 2,717,400. The last year
    takes what is left, so the payments always add up to the amount to the cent.
    """
    if amount < 0:
        raise RuleError(gettext("金额不能为负数。"))
    if not (0 <= first_share <= 1) or not (0 <= later_share_of_remainder <= 1):
        raise RuleError(gettext("付款比例应在 0–100% 之间。"))
    first = (amount * first_share).quantize(CENT, rounding=ROUND_HALF_UP)
    schedule = {install_year: first}
    remainder = amount - first
    paid_later = Decimal(0)
    for k in range(1, later_years + 1):
        if k == later_years:
            payment = remainder - paid_later
        else:
            payment = (remainder * later_share_of_remainder).quantize(CENT, rounding=ROUND_HALF_UP)
        schedule[install_year + k] = payment
        paid_later += payment
    if later_years == 0:
        schedule[install_year] = amount
    return schedule


@dataclass(frozen=True)
class BudgetFigures:
    total: Decimal
    spent: Decimal
    remaining: Decimal


def budget(total_classes: int, built: int, unit_cost: Decimal) -> BudgetFigures:
    """Xinyu: 880 classes, 233 built, 14,000 a class -> 12,320,000 total, 9,058,000 remaining."""
    if unit_cost < 0:
        raise RuleError(gettext("每班单价不能为负数。"))
    return BudgetFigures(
        total=unit_cost * total_classes,
        spent=unit_cost * built,
        remaining=unit_cost * (total_classes - built),
    )


# The seeds' default rule (Jishui plan, 建设要求): village primary schools and teaching points get
# TV + DVD + disc; central primary grades 1–3 LCD TV + computer + network; central primary
# grades 4–6, rural junior and county-town schools projector + computer + network.
VILLAGE_KINDS = frozenset({"teaching_point", "village_primary"})
LOWER_GRADE_KINDS = frozenset({"central_primary", "nine_year"})
LOWER_GRADES_MAX = 3


def default_mode_code(kind: str, grade: int) -> str:
    if kind in VILLAGE_KINDS:
        return "tv_dvd"
    if kind in LOWER_GRADE_KINDS and grade <= LOWER_GRADES_MAX:
        return "lcd_pc"
    return "projector_pc"


@dataclass(frozen=True)
class RuleLine:
    kind: str
    grade_min: int
    grade_max: int
    mode_code: str


def mode_for(kind: str, grade: int, lines: Sequence[RuleLine]) -> str:
    """The mode a region's rule gives a class; the seeds' rule when no line matches."""
    for line in lines:
        if line.kind == kind and line.grade_min <= grade <= line.grade_max:
            return line.mode_code
    return default_mode_code(kind, grade)


# The seeds' rule written as lines, so a region can start editing from it. mode_for() with these
# lines gives default_mode_code() for every kind and grade (tested).
GRADE_MIN, GRADE_MAX = 1, 12
_KINDS_ELSEWHERE = ("rural_junior", "urban_primary", "urban_junior", "urban_senior", "city_direct")
DEFAULT_RULE_LINES: tuple[RuleLine, ...] = (
    *(RuleLine(kind, GRADE_MIN, GRADE_MAX, "tv_dvd") for kind in sorted(VILLAGE_KINDS)),
    *(line for kind in sorted(LOWER_GRADE_KINDS) for line in (
        RuleLine(kind, GRADE_MIN, LOWER_GRADES_MAX, "lcd_pc"),
        RuleLine(kind, LOWER_GRADES_MAX + 1, GRADE_MAX, "projector_pc"),
    )),
    *(RuleLine(kind, GRADE_MIN, GRADE_MAX, "projector_pc") for kind in _KINDS_ELSEWHERE),
)


def check_rule_lines(
    lines: Sequence[RuleLine], *, kinds: dict[str, str], modes: dict[str, str]
) -> list[str]:
    """Everything wrong with a region's rule, in the active language, line by line (empty: the rule is fine).

    kinds and modes map the known codes to their names. Two lines of one school kind may not
    cover the same grade: which mode would a class of that grade get?
    """
    errors: list[str] = []
    if not lines:
        return [gettext("规则至少要有一行；要沿用上级或方案默认规则，请点“恢复沿用上级规则”。")]
    for i, line in enumerate(lines, start=1):
        if line.kind not in kinds:
            errors.append(gettext("第 %(n)s 行：请选择学校类型。") % {"n": i})
        if not (GRADE_MIN <= line.grade_min <= GRADE_MAX and GRADE_MIN <= line.grade_max <= GRADE_MAX):
            errors.append(gettext("第 %(n)s 行：年级应在 %(min)s–%(max)s 年级之间。") % {
                "n": i, "min": GRADE_MIN, "max": GRADE_MAX})
        elif line.grade_min > line.grade_max:
            errors.append(gettext("第 %(n)s 行：起始年级 %(min)s 大于结束年级 %(max)s。") % {
                "n": i, "min": line.grade_min, "max": line.grade_max})
        if line.mode_code not in modes:
            errors.append(gettext("第 %(n)s 行：模式“%(mode)s”不在模式目录中。") % {"n": i, "mode": line.mode_code})
    for i, a in enumerate(lines, start=1):
        for j, b in enumerate(lines[i:], start=i + 1):
            if a.kind == b.kind and a.kind in kinds and a.grade_min <= b.grade_max and b.grade_min <= a.grade_max:
                errors.append(gettext("第 %(n)s 行与第 %(other)s 行重叠：%(kind)s %(min)s–%(max)s 年级同时出现在两行中。") % {
                    "n": j, "other": i, "kind": kinds[a.kind],
                    "min": max(a.grade_min, b.grade_min), "max": min(a.grade_max, b.grade_max),
                })
    return errors
