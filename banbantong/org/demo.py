"""The demo region: 吉安市 > 吉水县 as the 2023 Jishui plan describes it, plus a small 新干县.

`build_demo()` fills an empty database with a county that reproduces the plan's figures —
1,469 teaching classes of which 283 are built (19.3%) — spread over about 150 schools of
every kind, with the terminal modes of the plan's rule, dated build history, a classroom per
class, ~3,000 teachers with accounts, and one account per role. Everything comes from one
seeded `random.Random`, so two builds on the same day are identical. It is a builder for
`bbt demo` and for tests, not a service: it writes the registry in bulk and leaves one audit entry.
Then `demo_activity.build_activity()` puts the county to work through the real services:
targets, funding and scenarios; devices and three months of repair tickets; a semester with
timetables, lesson records and a batch of terminal events.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from banbantong.accounts.models import User
from banbantong.core import audit
from banbantong.core.i18n import chinese
from banbantong.org import demo_activity
from banbantong.org.models import Classroom, ClassStatusChange, Region, School, Teacher, TeachingClass
from banbantong.org.services import ensure_region, refresh_school_counts, school_is_rural
from banbantong.planning.models import TerminalMode
from banbantong.planning.rules import default_mode_code
from banbantong.resources.demo import build_library

# One password for every demo account, printed by `bbt demo`; it satisfies the default policy.
DEMO_PASSWORD = "Demo@2026"  # noqa: S105 - a published demo password, by design
DEMO_SEED = 2023  # the year of the Jishui plan
CITY = ("吉安市", "360800")
JISHUI = ("吉水县", "360822")
XINGAN = ("新干县", "360824")
# The plan's own figures (seed 003): "已建成283个班班通教学班，占全县总班级数1469个班".
JISHUI_CLASSES = 1469
JISHUI_BUILT = 283
JISHUI_TEACHERS = 3000
XINGAN_CLASSES = 120
XINGAN_BUILT = 36
XINGAN_TEACHERS = 240
# Classes whose installation is under way today: this year's project, not yet counted as built.
JISHUI_BUILDING = 36
BATCH_SIZE = 500

# Stages reported to the progress callback, in order: the registry's, then the activity's.
REGISTRY_STAGES = ("区域", "学校", "教学班", "教室", "建设记录", "教师账号", "角色账号")
STAGES = REGISTRY_STAGES + demo_activity.STAGES

K = School.Kind
S = TeachingClass.Status

# --- Shapes of each kind of school: grades, classes per grade, pupils per class ----------
# (first grade, last grade, classes per grade low/high, pupils low/high)
KIND_SHAPE: dict[str, tuple[int, int, int, int, int, int]] = {
    K.TEACHING_POINT: (1, 4, 1, 1, 5, 20),  # most stop at grade 2 or 3, see _fill_school
    K.VILLAGE_PRIMARY: (1, 6, 1, 1, 15, 40),
    K.CENTRAL_PRIMARY: (1, 6, 2, 4, 40, 60),
    K.RURAL_JUNIOR: (7, 9, 2, 5, 40, 60),
    K.NINE_YEAR: (1, 9, 1, 2, 35, 55),
    K.URBAN_PRIMARY: (1, 6, 5, 9, 45, 60),
    K.URBAN_JUNIOR: (7, 9, 8, 14, 45, 60),
    K.URBAN_SENIOR: (10, 12, 10, 18, 48, 60),
}
# Teachers per class: small schools need a teacher for almost every class, secondary ones more.
TEACHERS_PER_CLASS: dict[str, float] = {
    K.TEACHING_POINT: 1.3, K.VILLAGE_PRIMARY: 1.6, K.CENTRAL_PRIMARY: 2.0, K.RURAL_JUNIOR: 3.0,
    K.NINE_YEAR: 2.4, K.URBAN_PRIMARY: 1.9, K.URBAN_JUNIOR: 3.2, K.URBAN_SENIOR: 3.6,
}
# Share of a school's classes already built: county-town schools first, then central primaries.
BUILT_SHARE: dict[str, tuple[float, float]] = {
    K.URBAN_SENIOR: (0.55, 0.85), K.URBAN_JUNIOR: (0.45, 0.8), K.URBAN_PRIMARY: (0.3, 0.6),
    K.CENTRAL_PRIMARY: (0.1, 0.45), K.RURAL_JUNIOR: (0.0, 0.25), K.NINE_YEAR: (0.0, 0.2),
}
# Where the count of classes or built classes may be nudged to hit the plan's exact figures.
ADJUSTABLE_KINDS = (K.URBAN_PRIMARY, K.URBAN_JUNIOR, K.URBAN_SENIOR, K.CENTRAL_PRIMARY)


def rule_mode_code(kind: str, grade: int) -> str:
    """The plan's default rule (planning.rules.default_mode_code): one rule for demo and planner."""
    return default_mode_code(kind, grade)


# --- Places -----------------------------------------------------------------------------
# (town, code, kind of region name) — the county seat first; 乡 are the small townships.
JISHUI_TOWNS = [
    ("文峰镇", "360822100"), ("醪桥镇", "360822101"), ("八都镇", "360822102"), ("枫江镇", "360822103"),
    ("阜田镇", "360822104"), ("盘谷镇", "360822105"), ("水南镇", "360822106"), ("白沙镇", "360822107"),
    ("金滩镇", "360822108"), ("乌江镇", "360822109"), ("黄桥镇", "360822110"), ("丁江镇", "360822111"),
    ("白水镇", "360822112"), ("双村镇", "360822113"), ("螺田镇", "360822114"), ("水田乡", "360822200"),
    ("冠山乡", "360822201"), ("尚贤乡", "360822202"),
]
# Townships whose only large school is a nine-year school instead of a central primary + junior.
JISHUI_NINE_YEAR_TOWNS = frozenset({"冠山乡", "尚贤乡"})
JISHUI_URBAN = [
    ("吉水中学", K.URBAN_SENIOR), ("吉水县第二中学", K.URBAN_SENIOR),
    ("吉水县第三中学", K.URBAN_JUNIOR), ("吉水县城北中学", K.URBAN_JUNIOR),
    ("吉水县实验小学", K.URBAN_PRIMARY), ("吉水县城区第一小学", K.URBAN_PRIMARY),
    ("吉水县城区第二小学", K.URBAN_PRIMARY), ("吉水县城区第三小学", K.URBAN_PRIMARY),
    ("吉水县城南小学", K.URBAN_PRIMARY), ("吉水县城北小学", K.URBAN_PRIMARY),
]
XINGAN_TOWNS = [("金川镇", "360824100"), ("三湖镇", "360824101"), ("大洋洲镇", "360824102")]
XINGAN_URBAN = [("新干中学", K.URBAN_SENIOR), ("新干县城南小学", K.URBAN_PRIMARY)]

# The school every school-level demo account belongs to.
DEMO_SCHOOL = "醪桥镇中心小学"

VILLAGE_HEADS = "上下东西南北大小新老石竹枫桥塘坑岭坊田洲沙湖山江源溪陂庄"
VILLAGE_TAILS = "头口坑岭塘田坊洲背下溪源江湖山冲岗垅陂边湾"

SURNAMES: list[tuple[str, int]] = [
    ("刘", 9), ("周", 6), ("李", 5), ("王", 4), ("张", 4), ("陈", 4), ("杨", 4), ("罗", 4), ("胡", 4),
    ("曾", 4), ("郭", 4), ("肖", 4), ("彭", 3), ("黄", 3), ("欧阳", 2), ("邓", 2), ("吴", 2), ("钟", 2),
    ("朱", 2), ("谢", 2), ("徐", 2), ("邹", 2), ("熊", 2), ("袁", 1), ("廖", 1), ("颜", 1), ("尹", 1),
    ("康", 1), ("毛", 1), ("段", 1), ("龙", 1), ("严", 1), ("傅", 1), ("聂", 1), ("孙", 1), ("赵", 1),
    ("江", 1), ("万", 1), ("文", 1), ("甘", 1),
]
GIVEN_MALE = "建国华军明伟强斌文平辉勇林志海峰涛磊鹏俊杰浩宇晨亮荣成春龙金光卫新东忠祥远昌生根清德"
GIVEN_FEMALE = "芳娟丽敏静燕霞英红玲萍琴艳梅兰慧婷莉倩雪洁颖秀珍凤媛蓉琳晓月春小欣雨"
PHONE_PREFIXES = ("133", "135", "136", "137", "138", "139", "150", "151", "152", "157", "158", "159",
                  "177", "180", "181", "182", "187", "188", "189", "191", "199")
PRIMARY_SUBJECTS = [("语文", 30), ("数学", 26), ("英语", 10), ("科学", 6), ("道德与法治", 6), ("音乐", 6),
                    ("体育", 7), ("美术", 5), ("信息技术", 4)]
SECONDARY_SUBJECTS = [("语文", 14), ("数学", 14), ("英语", 13), ("物理", 9), ("化学", 7), ("生物", 6),
                      ("道德与法治", 6), ("历史", 6), ("地理", 6), ("体育", 6), ("音乐", 3), ("美术", 3),
                      ("信息技术", 3)]
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_check_digit(first17: str) -> str:
    """The GB 11643 check character of an 18-digit resident ID number."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


# --- What gets built ---------------------------------------------------------------------
@dataclass
class _ClassPlan:
    grade: int
    number: int
    pupils: int
    mode: str
    status: str = S.NOT_BUILT
    # (old, new, date) in order; the last date is the class's status_changed_on
    history: list[tuple[str, str, dt.date]] = field(default_factory=list)


@dataclass
class _SchoolPlan:
    town: Region
    name: str
    kind: str
    code: str = ""
    address: str = ""
    principal: str = ""
    network: dict[str, Any] = field(default_factory=dict)
    classes: list[_ClassPlan] = field(default_factory=list)
    built_target: int = 0
    teachers: int = 0
    obj: School | None = None  # set once written

    @property
    def school(self) -> School:
        if self.obj is None:
            raise DemoError(f"{self.name} 尚未写入数据库。")
        return self.obj


@dataclass(frozen=True)
class DemoAccount:
    role: str
    username: str
    where: str


@dataclass(frozen=True)
class DemoResult:
    created: bool
    county: Region
    schools: int
    classes: int
    built: int
    teachers: int
    accounts: tuple[DemoAccount, ...]
    # One line per part of the activity (planning, devices, usage), for `bbt demo` to print.
    activity: tuple[str, ...] = ()


class DemoError(Exception):
    """The database already holds something the demo would collide with."""


def demo_county() -> Region | None:
    """The demo's 吉水县 if it has been built (it has schools), else None."""
    county = Region.objects.filter(
        name=JISHUI[0], level=Region.Level.COUNTY, parent__name=CITY[0], parent__parent__isnull=True
    ).first()
    if county is None or not School.objects.filter(region__parent=county).exists():
        return None
    return county


def accounts() -> tuple[DemoAccount, ...]:
    county, city, xingan = JISHUI[0], CITY[0], XINGAN[0]
    return (
        DemoAccount(chinese(User.Role.BUREAU_ADMIN.label), "admin", f"{city}{county}"),
        DemoAccount(chinese(User.Role.BUREAU_ADMIN.label) + "（市级）", "city_admin", city),
        DemoAccount(chinese(User.Role.BUREAU_ADMIN.label) + "（另一县）", "xg_admin", f"{city}{xingan}"),
        DemoAccount(chinese(User.Role.SCHOOL_ADMIN.label), "school_admin", DEMO_SCHOOL),
        DemoAccount(chinese(User.Role.DEVICE_ADMIN.label), "device_admin", DEMO_SCHOOL),
        DemoAccount(chinese(User.Role.TEACHER.label), "teacher", DEMO_SCHOOL),
        DemoAccount(chinese(User.Role.REVIEWER.label), "reviewer", f"{city}{county}"),
        DemoAccount(chinese(User.Role.INTEGRATOR.label), "integrator", f"{county} 6 所学校"),
        DemoAccount(chinese(User.Role.AUDITOR.label), "auditor", f"{city}{county}"),
    )


def build_demo(
    *,
    seed: int = DEMO_SEED,
    teachers: int = JISHUI_TEACHERS,
    today: dt.date | None = None,
    progress: Callable[[str], None] | None = None,
    activity: bool = True,
) -> DemoResult:
    """Build the demo unless it exists (then return it as it is). `teachers` is 吉水's count.

    `activity=False` builds the registry only (quicker, for tests of the registry). With the
    activity, `today` must be the clock's date: the services stamp the real time.
    """
    existing = demo_county()
    if existing is not None:
        return describe(existing, created=False)
    taken = sorted(User.objects.filter(username__in=[a.username for a in accounts()]).values_list("username", flat=True))
    if taken:
        raise DemoError(f"数据库中已有同名账号（{'、'.join(taken)}），演示数据只能建在空库里。请换一个 BBT_DATA_DIR。")
    password_hash = _demo_password_hash()
    today = today or timezone.localdate()
    if activity and today != timezone.localdate():
        raise DemoError(f"演示的使用数据按当前时钟生成，today（{today}）必须是今天；或用 activity=False 只建名册。")
    builder = _Builder(random.Random(seed), today, password_hash, progress)  # noqa: S311
    with transaction.atomic():
        county = builder.build(teachers)
        if activity:
            try:
                demo_activity.build_activity(county, seed=seed, today=today, progress=progress)
            except demo_activity.ActivityError as exc:
                raise DemoError(str(exc)) from exc
            build_library(county)  # the resource library: example catalogue, resources, review, quotas
    return describe(county, created=True)


def _demo_password_hash() -> str:
    try:
        validate_password(DEMO_PASSWORD, User(username="admin"))
    except ValidationError as exc:
        raise DemoError(
            f"演示密码 {DEMO_PASSWORD} 不符合当前密码策略：{'；'.join(exc.messages)}。请放宽 BBT_PASSWORD_* 设置后重试。"
        ) from exc
    # One hash for every account: hashing 3,000 passwords one by one would take minutes.
    return make_password(DEMO_PASSWORD)


def describe(county: Region, *, created: bool) -> DemoResult:
    classes = TeachingClass.objects.filter(school__region__parent=county)
    return DemoResult(
        created=created,
        county=county,
        schools=School.objects.filter(region__parent=county).count(),
        classes=classes.count(),
        built=classes.built().count(),
        teachers=Teacher.objects.filter(school__region__parent=county).count(),
        accounts=accounts(),
        activity=demo_activity.summary_lines(county),
    )


class _Builder:
    def __init__(
        self, rng: random.Random, today: dt.date, password_hash: str, progress: Callable[[str], None] | None
    ) -> None:
        self.rng = rng
        self.today = today
        self.password_hash = password_hash
        self.progress = progress or (lambda stage: None)
        self.modes = {m.code: m for m in TerminalMode.objects.filter(region=None)}
        missing = {"tv_dvd", "lcd_pc", "projector_pc"} - set(self.modes)
        if missing:
            raise DemoError(f"缺少默认班班通模式 {sorted(missing)}：请先运行 bbt migrate。")
        self.teacher_seq: dict[str, int] = {}

    # ---- orchestration ----
    def build(self, jishui_teachers: int) -> Region:
        city = self._region(CITY, Region.Level.CITY, None)
        jishui = self._region(JISHUI, Region.Level.COUNTY, city)
        xingan = self._region(XINGAN, Region.Level.COUNTY, city)
        js_towns = [self._region(t, Region.Level.TOWN, jishui) for t in JISHUI_TOWNS]
        xg_towns = [self._region(t, Region.Level.TOWN, xingan) for t in XINGAN_TOWNS]
        self.progress(STAGES[0])

        js_plans = self._plan_county(
            JISHUI, js_towns, JISHUI_URBAN, classes=JISHUI_CLASSES, built=JISHUI_BUILT,
            teachers=jishui_teachers, building=JISHUI_BUILDING, nine_year_towns=JISHUI_NINE_YEAR_TOWNS,
        )
        xg_plans = self._plan_county(
            XINGAN, xg_towns, XINGAN_URBAN, classes=XINGAN_CLASSES, built=XINGAN_BUILT,
            teachers=max(1, jishui_teachers * XINGAN_TEACHERS // JISHUI_TEACHERS), building=0,
            nine_year_towns=frozenset(), villages_per_town=(1, 2), teaching_points=(0, 1),
        )
        plans = js_plans + xg_plans
        self._write_schools(plans)
        self.progress(STAGES[1])
        class_objs = self._write_classes(plans)
        self.progress(STAGES[2])
        self._write_classrooms(plans, class_objs)
        self.progress(STAGES[3])
        self._write_history(class_objs)
        self.progress(STAGES[4])
        self._write_teachers(js_plans, "js", JISHUI[1])
        self._write_teachers(xg_plans, "xg", XINGAN[1])
        self.progress(STAGES[5])
        self._write_role_users(city, jishui, xingan, js_plans)
        self.progress(STAGES[6])
        audit.record(
            audit.Action.IMPORT, jishui, actor=None, object_repr="演示数据（bbt demo）",
            after={"schools": len(js_plans), "classes": JISHUI_CLASSES, "built": JISHUI_BUILT,
                   "teachers": jishui_teachers},
        )
        return jishui

    def _region(self, spec: tuple[str, str], level: str, parent: Region | None) -> Region:
        name, code = spec
        region, _ = ensure_region(name, level=level, parent=parent, actor=None)
        if not region.code:
            Region.objects.filter(pk=region.pk).update(code=code)
            region.code = code
        return region

    # ---- planning (no database) ----
    def _plan_county(
        self,
        county: tuple[str, str],
        towns: Sequence[Region],
        urban: Sequence[tuple[str, str]],
        *,
        classes: int,
        built: int,
        teachers: int,
        building: int,
        nine_year_towns: frozenset[str],
        villages_per_town: tuple[int, int] = (3, 6),
        teaching_points: tuple[int, int] = (1, 3),
    ) -> list[_SchoolPlan]:
        rng = self.rng
        seat, rest = towns[0], towns[1:]
        plans = [_SchoolPlan(seat, name, kind) for name, kind in urban]
        plans += self._village_schools(seat, rng.randint(1, 2), rng.randint(0, 1))
        for town in rest:
            short = town.name[:-1]
            if town.name in nine_year_towns:
                plans.append(_SchoolPlan(town, f"{short}九年制学校", K.NINE_YEAR))
            else:
                plans.append(_SchoolPlan(town, f"{town.name}中心小学", K.CENTRAL_PRIMARY))
                plans.append(_SchoolPlan(town, f"{county[0][:-1]}县{short}中学", K.RURAL_JUNIOR))
            plans += self._village_schools(town, rng.randint(*villages_per_town), rng.randint(*teaching_points))
        for i, plan in enumerate(plans, start=1):
            self._fill_school(plan, county, i)
        self._hit_class_total(plans, classes)
        for plan in plans:
            for klass in plan.classes:
                klass.pupils = rng.randint(*KIND_SHAPE[plan.kind][4:6])
        self._allocate_built(plans, built)
        self._allocate_building(plans, building)
        self._allocate_teachers(plans, teachers)
        return plans

    def _village_schools(self, town: Region, villages: int, points: int) -> list[_SchoolPlan]:
        names: set[str] = set()
        while len(names) < villages + points:
            head, tail = self.rng.choice(VILLAGE_HEADS), self.rng.choice(VILLAGE_TAILS)
            if head != tail:
                names.add(head + tail)
        ordered = sorted(names)
        self.rng.shuffle(ordered)
        return [
            _SchoolPlan(town, f"{town.name}{v}小学", K.VILLAGE_PRIMARY) for v in ordered[:villages]
        ] + [_SchoolPlan(town, f"{town.name}{v}教学点", K.TEACHING_POINT) for v in ordered[villages:]]

    def _fill_school(self, plan: _SchoolPlan, county: tuple[str, str], index: int) -> None:
        rng = self.rng
        first, last, low, high, _, _ = KIND_SHAPE[plan.kind]
        if plan.kind == K.TEACHING_POINT:
            last = rng.choice((2, 3, 3, 4))
        elif plan.kind == K.VILLAGE_PRIMARY and rng.random() < 0.2:
            last = 4  # the upper grades of small villages go to the central primary
        base = rng.randint(low, high)
        for grade in range(first, last + 1):
            per_grade = base
            if plan.kind == K.NINE_YEAR and grade >= 7:
                per_grade = base + 1
            elif high > low:
                per_grade = min(high, max(low, base + rng.choice((-1, 0, 0, 1))))
            for n in range(1, per_grade + 1):
                plan.classes.append(_ClassPlan(grade, n, 0, rule_mode_code(plan.kind, grade)))
        plan.code = f"{county[1]}{index:04d}"
        village = plan.name.removeprefix(plan.town.name).removesuffix("小学").removesuffix("教学点")
        plan.address = f"江西省{CITY[0]}{county[0]}{plan.town.name}" + (
            f"{village}村" if plan.kind in (K.VILLAGE_PRIMARY, K.TEACHING_POINT) else ""
        )
        plan.principal = self._name(rng.random() < 0.7)[0]
        plan.network = self._network(plan.kind)

    def _network(self, kind: str) -> dict[str, Any]:
        rng = self.rng
        if kind in (K.URBAN_PRIMARY, K.URBAN_JUNIOR, K.URBAN_SENIOR):
            return {"has_fibre": True, "bandwidth_mbps": rng.choice((100, 200, 500, 1000)),
                    "has_campus_lan": True, "has_firewall": rng.random() < 0.85}
        if kind in (K.CENTRAL_PRIMARY, K.RURAL_JUNIOR, K.NINE_YEAR):
            fibre = rng.random() < 0.9
            return {"has_fibre": fibre, "bandwidth_mbps": rng.choice((20, 50, 100)) if fibre else 4,
                    "has_campus_lan": rng.random() < 0.6, "has_firewall": rng.random() < 0.4}
        fibre = rng.random() < (0.55 if kind == K.VILLAGE_PRIMARY else 0.2)
        return {"has_fibre": fibre, "bandwidth_mbps": rng.choice((4, 10, 20)) if fibre else rng.choice((0, 0, 2, 4)),
                "has_campus_lan": False, "has_firewall": False}

    def _hit_class_total(self, plans: list[_SchoolPlan], target: int) -> None:
        """Add or remove classes in big schools until the county has exactly `target`."""
        rng = self.rng
        big = [p for p in plans if p.kind in ADJUSTABLE_KINDS]
        total = sum(len(p.classes) for p in plans)
        while total != target:
            plan = rng.choice(big)
            first, last, low, high, _, _ = KIND_SHAPE[plan.kind]
            grade = rng.randint(first, last)
            in_grade = [c for c in plan.classes if c.grade == grade]
            if total < target and len(in_grade) < high + 2:
                plan.classes.append(_ClassPlan(grade, len(in_grade) + 1, 0, rule_mode_code(plan.kind, grade)))
                total += 1
            elif total > target and len(in_grade) > max(1, low - 1):
                plan.classes.remove(in_grade[-1])
                total -= 1
        for plan in plans:
            plan.classes.sort(key=lambda c: (c.grade, c.number))

    def _allocate_built(self, plans: list[_SchoolPlan], target: int) -> None:
        rng = self.rng
        for plan in plans:
            low, high = BUILT_SHARE.get(plan.kind, (0.0, 0.0))
            share = 0.5 if plan.name == DEMO_SCHOOL else rng.uniform(low, high)
            plan.built_target = round(share * len(plan.classes))
        adjustable = [p for p in plans if p.kind in ADJUSTABLE_KINDS and p.name != DEMO_SCHOOL]
        total = sum(p.built_target for p in plans)
        while total != target:
            plan = rng.choice(adjustable)
            if total < target and plan.built_target < len(plan.classes):
                plan.built_target += 1
                total += 1
            elif total > target and plan.built_target > 0:
                plan.built_target -= 1
                total -= 1
        for plan in plans:
            if plan.built_target:
                self._build_classes(plan)

    def _build_classes(self, plan: _SchoolPlan) -> None:
        rng = self.rng
        grades = sorted({c.grade for c in plan.classes})
        rng.shuffle(grades)
        if plan.kind in (K.CENTRAL_PRIMARY, K.NINE_YEAR):
            # Upper grades got projectors first; the LCD sets for grades 1–3 came later.
            grades.sort(key=lambda g: g <= 3)
        order = sorted(plan.classes, key=lambda c: (grades.index(c.grade), c.number))
        # A school was equipped in one or two projects over the last three years; each project
        # was installed over a few weeks and accepted as a whole some months later.
        batches = []
        for _ in range(rng.choice((1, 1, 2))):
            done = self.today - dt.timedelta(days=rng.randint(20, 1095))
            batches.append((done, done - dt.timedelta(days=rng.randint(30, 75)),
                            done + dt.timedelta(days=rng.randint(30, 180))))
        batches.sort()
        chosen = order[: plan.built_target]
        per_batch = -(-len(chosen) // len(batches))
        for i, klass in enumerate(chosen):
            done, started, accepted = batches[min(i // per_batch, len(batches) - 1)]
            started += dt.timedelta(days=rng.randint(0, 10))
            klass.history = [(S.NOT_BUILT, S.BUILDING, started), (S.BUILDING, S.BUILT, done)]
            klass.status = S.BUILT
            if accepted < self.today:
                klass.history.append((S.BUILT, S.ACCEPTED, accepted))
                klass.status = S.ACCEPTED

    def _allocate_building(self, plans: list[_SchoolPlan], count: int) -> None:
        """This year's installations: whole grades of a few central primaries, started recently."""
        rng = self.rng
        candidates = [p for p in plans if p.kind == K.CENTRAL_PRIMARY and p.name != DEMO_SCHOOL]
        rng.shuffle(candidates)
        started = self.today - dt.timedelta(days=rng.randint(10, 40))
        planned = started - dt.timedelta(days=rng.randint(60, 120))
        for plan in candidates:
            for klass in sorted(plan.classes, key=lambda c: -c.grade):
                if count == 0:
                    return
                if klass.status == S.NOT_BUILT:
                    klass.status = S.BUILDING
                    klass.history = [(S.NOT_BUILT, S.PLANNED, planned), (S.PLANNED, S.BUILDING, started)]
                    count -= 1

    def _allocate_teachers(self, plans: list[_SchoolPlan], total: int) -> None:
        """Share `total` teachers by need (largest remainder), at least one per school."""
        weights = [len(p.classes) * TEACHERS_PER_CLASS[p.kind] for p in plans]
        scale = max(total - len(plans), 0) / sum(weights)
        raw = [w * scale for w in weights]
        for plan, r in zip(plans, raw, strict=True):
            plan.teachers = 1 + int(r)
        left = total - sum(p.teachers for p in plans)
        by_remainder = sorted(range(len(plans)), key=lambda i: raw[i] - int(raw[i]), reverse=True)
        for i in by_remainder[: max(left, 0)]:
            plans[i].teachers += 1

    # ---- people ----
    def _name(self, male: bool) -> tuple[str, bool]:
        rng = self.rng
        surname = rng.choices([s for s, _ in SURNAMES], weights=[w for _, w in SURNAMES])[0]
        chars = GIVEN_MALE if male else GIVEN_FEMALE
        given = rng.choice(chars) + (rng.choice(chars) if rng.random() < 0.7 or len(surname) > 1 else "")
        return surname + given, male

    def _phone(self) -> str:
        return self.rng.choice(PHONE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"

    def _id_number(self, county_code: str, male: bool) -> str:
        rng = self.rng
        born = dt.date(self.today.year - rng.randint(23, 59), 1, 1) + dt.timedelta(days=rng.randint(0, 364))
        seq = rng.randrange(0, 100) * 10 + rng.choice((1, 3, 5, 7, 9) if male else (0, 2, 4, 6, 8))
        first17 = f"{county_code}{born:%Y%m%d}{seq:03d}"
        return first17 + id_check_digit(first17)

    # ---- writing ----
    def _write_schools(self, plans: list[_SchoolPlan]) -> None:
        objs = [
            School(
                region=p.town, region_path=p.town.path, name=p.name, code=p.code, kind=p.kind,
                is_rural=school_is_rural(p.kind), address=p.address, principal=p.principal, **p.network,
            )
            for p in plans
        ]
        School.objects.bulk_create(objs, batch_size=BATCH_SIZE)
        for plan, obj in zip(plans, objs, strict=True):
            plan.obj = obj

    def _write_classes(self, plans: list[_SchoolPlan]) -> list[tuple[TeachingClass, _ClassPlan]]:
        pairs: list[tuple[TeachingClass, _ClassPlan]] = []
        for plan in plans:
            for c in plan.classes:
                last = c.history[-1][2] if c.history else None
                built_on = next((d for _, new, d in c.history if new == S.BUILT), None)
                obj = TeachingClass(
                    school=plan.obj, grade=c.grade, name=f"{c.number}班", pupils=c.pupils,
                    mode=self.modes[c.mode], status=c.status, status_changed_on=last,
                    built_year=built_on.year if built_on else None,
                )
                pairs.append((obj, c))
        TeachingClass.objects.bulk_create([o for o, _ in pairs], batch_size=BATCH_SIZE)
        refresh_school_counts(p.obj.pk for p in plans if p.obj is not None)
        return pairs

    def _write_classrooms(self, plans: list[_SchoolPlan], pairs: list[tuple[TeachingClass, _ClassPlan]]) -> None:
        rooms: list[Classroom] = []
        by_school: dict[int, int] = {}
        for obj, _ in pairs:
            i = by_school.get(obj.school_id, 0)
            by_school[obj.school_id] = i + 1
            if obj.school.kind == K.TEACHING_POINT:
                building, name = "", f"教室{i + 1}"
            else:
                # Eight rooms a floor, four floors a building.
                building = f"{i // 32 + 1}号教学楼"
                name = f"{(i % 32) // 8 + 1}{i % 8 + 1:02d}"
            rooms.append(Classroom(school=obj.school, building=building, name=name, teaching_class=obj))
        Classroom.objects.bulk_create(rooms, batch_size=BATCH_SIZE)

    def _write_history(self, pairs: list[tuple[TeachingClass, _ClassPlan]]) -> None:
        changes = [
            ClassStatusChange(klass=obj, old_status=old, new_status=new, changed_on=on)
            for obj, plan in pairs
            for old, new, on in plan.history
        ]
        ClassStatusChange.objects.bulk_create(changes, batch_size=BATCH_SIZE)

    def _write_teachers(self, plans: list[_SchoolPlan], prefix: str, county_code: str) -> None:
        rng = self.rng
        users: list[User] = []
        teachers: list[Teacher] = []
        n = 0
        for plan in plans:
            secondary = plan.kind in (K.RURAL_JUNIOR, K.URBAN_JUNIOR, K.URBAN_SENIOR)
            subjects = SECONDARY_SUBJECTS if secondary else PRIMARY_SUBJECTS
            female_share = 0.5 if secondary else 0.68
            for _ in range(plan.teachers):
                n += 1
                name, male = self._name(rng.random() >= female_share)
                id_number = self._id_number(county_code, male)
                age = self.today.year - int(id_number[6:10])
                phone = self._phone()
                users.append(User(
                    username=f"{prefix}{n:05d}", password=self.password_hash, role=User.Role.TEACHER,
                    school=plan.obj, display_name=name, phone=phone,
                ))
                teachers.append(Teacher(
                    school=plan.obj, name=name, gender=Teacher.Gender.MALE if male else Teacher.Gender.FEMALE,
                    subject=rng.choices([s for s, _ in subjects], weights=[w for _, w in subjects])[0],
                    title=_title(rng, age), phone=phone, id_number=id_number,
                ))
        for start in range(0, len(users), BATCH_SIZE):
            User.objects.bulk_create(users[start : start + BATCH_SIZE])
        for user, teacher in zip(users, teachers, strict=True):
            teacher.user = user
        Teacher.objects.bulk_create(teachers, batch_size=BATCH_SIZE)
        refresh_school_counts(p.obj.pk for p in plans if p.obj is not None)

    def _write_role_users(
        self, city: Region, jishui: Region, xingan: Region, plans: list[_SchoolPlan]
    ) -> None:
        school = next(p.school for p in plans if p.name == DEMO_SCHOOL)
        # The teacher account is one of the school's own teachers, renamed so it is easy to type,
        # and teaching 语文, the subject whose week shows the most Banbantong lessons.
        teacher = Teacher.objects.filter(school=school).select_related("user").order_by("id").first()
        if teacher is None:
            raise DemoError(f"{DEMO_SCHOOL}没有教师，无法建立演示教师账号。")
        User.objects.filter(pk=teacher.user_id).update(username="teacher")
        Teacher.objects.filter(pk=teacher.pk).update(subject="语文")
        people: dict[str, dict[str, Any]] = {
            "admin": dict(role=User.Role.BUREAU_ADMIN, region=jishui, display_name="吉水县电教站管理员"),
            "city_admin": dict(role=User.Role.BUREAU_ADMIN, region=city, display_name="吉安市电教馆管理员"),
            "xg_admin": dict(role=User.Role.BUREAU_ADMIN, region=xingan, display_name="新干县电教站管理员"),
            "school_admin": dict(role=User.Role.SCHOOL_ADMIN, school=school, display_name=school.principal),
            "device_admin": dict(role=User.Role.DEVICE_ADMIN, school=school, display_name=self._name(True)[0]),
            "reviewer": dict(role=User.Role.REVIEWER, region=jishui, display_name="吉水县资源审核员"),
            "integrator": dict(role=User.Role.INTEGRATOR, display_name="吉安启航教育科技有限公司"),
            "auditor": dict(role=User.Role.AUDITOR, region=jishui, display_name="吉水县教育局审计员"),
        }
        created = User.objects.bulk_create(
            [User(username=u, password=self.password_hash, **fields) for u, fields in people.items()]
        )
        integrator = next(u for u in created if u.username == "integrator")
        served = [school] + [
            p.school for p in plans
            if p.name in {"吉水县实验小学", "吉水县城区第一小学", "吉水县第三中学", "八都镇中心小学", "枫江镇中心小学"}
        ]
        integrator.assigned_schools.set(served)


def _title(rng: random.Random, age: int) -> str:
    if age < 28:
        return rng.choice(("三级教师", "二级教师", "二级教师"))
    if age < 38:
        return rng.choice(("二级教师", "一级教师", "一级教师"))
    if age < 50:
        return rng.choice(("一级教师", "一级教师", "高级教师"))
    return rng.choices(("一级教师", "高级教师", "正高级教师"), weights=(4, 6, 1))[0]
