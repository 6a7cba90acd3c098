"""Fill the platform-wide default terminal modes from the seeds (editable per region later)."""

from decimal import Decimal

from django.db import migrations

DEFAULT_MODES = [
    ("tv_dvd", "液晶电视+DVD+光盘", "液晶电视、DVD 播放机、教学光盘", Decimal("5000"), "电视+DVD+光盘,电视+DVD,TV+DVD,光盘模式"),
    ("lcd_pc", "液晶电视+电脑+网络", "液晶电视、电脑、网络", Decimal("12000"), "电视+电脑+网络,液晶电视+电脑"),
    ("projector_pc", "投影仪+电脑+网络", "投影仪、电脑、网络", Decimal("14000"), "投影+电脑+网络,投影仪+电脑,投影模式"),
    ("flat_panel", "交互式一体机", "交互式智能平板（一体机）", Decimal("20000"), "一体机,交互式平板,智能平板,触控一体机"),
]


def add_modes(apps, schema_editor):
    TerminalMode = apps.get_model("planning", "TerminalMode")
    for code, name, components, cost, aliases in DEFAULT_MODES:
        TerminalMode.objects.get_or_create(
            region=None, code=code,
            defaults={"name": name, "components": components, "unit_cost": cost, "aliases": aliases},
        )


def remove_modes(apps, schema_editor):
    apps.get_model("planning", "TerminalMode").objects.filter(region=None, code__in=[m[0] for m in DEFAULT_MODES]).delete()


class Migration(migrations.Migration):
    dependencies = [("planning", "0001_initial")]
    operations = [migrations.RunPython(add_modes, remove_modes)]
