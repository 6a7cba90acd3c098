"""The seeds' figures, reproduced by the pure planning rules (DESIGN §4)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from banbantong.planning import rules


def test_xinyu_coverage_budget_and_payments() -> None:
    assert rules.coverage_percent(233, 880) == Decimal("26.5")
    b = rules.budget(880, 233, Decimal(14000))
    assert b.total == 12_320_000
    assert b.remaining == 9_058_000
    assert rules.payment_schedule(b.remaining, 2024) == {
        2024: Decimal("3623200.00"), 2025: Decimal("2717400.00"), 2026: Decimal("2717400.00"),
    }


def test_jishui_targets() -> None:
    assert rules.coverage_percent(283, 1469) == Decimal("19.3")
    targets = rules.parse_targets("40,60,80,100")
    assert [rules.classes_needed(t, 1469) for t in targets] == [588, 882, 1176, 1469]
    assert rules.yearly_additions(283, targets, 1469) == [305, 294, 294, 293]


def test_payments_add_up_to_the_cent() -> None:
    schedule = rules.payment_schedule(Decimal("1000.01"), 2025)
    assert sum(schedule.values()) == Decimal("1000.01")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("40,30,80", "逐年上升"),
        ("40,60,120", "0–100%"),
        ("40,abc", "不是数字"),
        ("", "至少一个"),
        ("-5,10", "0–100%"),
        ("40,40", "逐年上升"),
    ],
)
def test_bad_targets_are_refused_in_chinese(raw: str, message: str) -> None:
    with pytest.raises(rules.RuleError, match=message):
        rules.parse_targets(raw)


def test_targets_accept_percent_signs_and_chinese_commas() -> None:
    assert rules.parse_targets("40%，60％,80,100") == [40, 60, 80, 100]


def test_negative_cost_is_refused() -> None:
    with pytest.raises(rules.RuleError, match="负数"):
        rules.budget(10, 0, Decimal(-1))
