"""The demo county at work: plans and money, devices and their repair desk, timetables and lessons.

`build_activity()` runs after the registry builder (banbantong/org/demo.py) in the same
transaction. Unlike the registry, which is written in bulk, it goes through the real services —
`set_targets`, `add_funding`, `save_scenario`, `register_device`, `report_fault`,
`change_ticket`, `escalate`, `add_semester`, `add_calendar_day`, `record_lesson`,
`ingest_events` — so the audit log, deadlines, flags and weekly roll-ups are what the platform
would have produced. Written directly, with the audit entries their pages leave: the contact
book (no service; one entry a company, as the contact-book page does), the timetables (generated,
not read from Excel; one IMPORT entry a school, as usage.timetables does) and the bulk of the
lesson records (below).

History is replayed at the moment it happened: each service call runs under `_clock(moment)`,
which makes `timezone.now()` answer that moment, so a ticket reported six weeks ago has its
deadlines six weeks ago and a lesson typed on the day is not flagged 事后补录. That is safe only
because the demo is built by one command before any web server starts; `today` must therefore
be the clock's own date (tests move the clock, not just `today`).

Sizes are kept so the whole `bbt demo` stays under a minute on a small, busy machine: about 570
devices and 60 tickets, timetables for ten schools, ~19,000 lesson records for their built
classes. record_lesson costs 20–40 ms a record here (some twenty queries with its roll-ups), so
only the records that matter one by one go through it — the `teacher` account's, and those typed
late, on a holiday or copied week after week; the ordinary ones are written in bulk with the
same flag rules and the roll-ups services._bump would have left (see _bulk_records), as
benchmarks/usage.py does, and one IMPORT audit entry, as the registry builder leaves.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, Q, Sum
from django.utils import timezone

from banbantong.accounts.models import User
from banbantong.core import audit
from banbantong.devices import services as device_services
from banbantong.devices.models import Company, Device, Ticket
from banbantong.org.models import Classroom, Region, School, Teacher, TeachingClass
from banbantong.planning import services as planning_services
from banbantong.planning.models import CoverageTarget, FundingSource, Scenario
from banbantong.usage import rules as usage_rules
from banbantong.usage import services as usage_services
from banbantong.usage.models import (
    CalendarDay,
    ClassWeek,
    LessonRecord,
    SchoolWeek,
    Semester,
    TeacherSemester,
    TeacherWeek,
    TimetableSlot,
)

# Stages reported to the progress callback, after the registry's.
STAGES = ("规划与经费", "设备与报修", "课表与应用记录")

# --- Planning ----------------------------------------------------------------------------------
TARGETS = ("40", "60", "80", "100")
PER_PUPIL_AMOUNT = Decimal("650")  # 生均公用经费, 元 per pupil a year (Jiangxi primary standard)
PER_PUPIL_SHARE = Decimal("10")  # % of it pooled for Banbantong, as the plan says
CENTRAL_FUNDS = (Decimal("1500000"), Decimal("1000000"))  # 中央专项, first two years
MATCHING_FUNDS = Decimal("600000")  # 局校配套, every year
# A yearly cap well below what the targets need, so the two scenarios differ on the compare page.
TIGHT_BUDGET = Decimal("3000000")
SCENARIO_FREE = "四年规划（不设预算上限）"
SCENARIO_TIGHT = "四年规划（每年预算上限 300 万元）"

# --- Devices -----------------------------------------------------------------------------------
# (name, kind, contact, after-sales phone, address)
COMPANIES = (
    ("吉安启航教育科技有限公司", Company.Kind.INTEGRATOR, "刘志明", "0796-8231567", "吉安市吉州区井冈山大道 168 号"),
    ("江西赣教信息工程有限公司", Company.Kind.INTEGRATOR, "胡建华", "0791-86712345", "南昌市红谷滩区丰和中大道 912 号"),
    ("吉安市恒信电子设备有限公司", Company.Kind.VENDOR, "周晓燕", "400-879-6188", "吉安市青原区文天祥大道 45 号"),
)
INTEGRATOR_COMPANY = COMPANIES[0][0]  # the one the `integrator` account belongs to
# (brand, model, price, serial prefix); weights in the second tuple element of each list entry.
PROJECTORS = [(("爱普生", "CB-X06", Decimal("3980"), "X4K"), 6), (("爱普生", "CB-X49", Decimal("5280"), "X5B"), 3),
              (("鸿合", "HT-D40X", Decimal("4650"), "HHD"), 2)]
DISPLAYS = [(("海信", "HZ55E3D", Decimal("3690"), "HZ55"), 5), (("希沃", "MC-B75", Decimal("7800"), "SWB"), 3),
            (("鸿合", "HD-I7590", Decimal("8600"), "HDI"), 2)]
COMPUTERS = [(("联想", "启天M437", Decimal("4380"), "PC1"), 6), (("联想", "启天M428", Decimal("3960"), "PC0"), 3),
             (("同方", "超越E500", Decimal("3850"), "TF5"), 2)]
WARRANTY_YEARS = 3
# Faults by device type, with weights: lamps and crashed computers are the everyday ones.
FAULTS: dict[str, list[tuple[str, int]]] = {
    Device.Type.PROJECTOR: [("lamp", 4), ("no_picture", 3), ("power", 1), ("other", 1)],
    Device.Type.LCD_TV: [("no_picture", 2), ("power", 2), ("touch", 2), ("no_sound", 1)],
    Device.Type.COMPUTER: [("computer", 5), ("network", 3), ("no_sound", 1), ("power", 1)],
}
FAULT_TEXT = {
    "lamp": ["投影画面发暗发黄，灯泡指示灯闪红灯", "投影仪提示“请更换灯泡”，上课只能关灯看", "开机十分钟后自动关机，灯泡灯亮红灯"],
    "no_picture": ["开机后屏幕无图像，电源灯是亮的", "电脑画面投不上去，换了接口也不行", "屏幕一半黑屏，有声音没图像"],
    "power": ["按电源键没有任何反应，插座有电", "上课中突然断电，再也开不了机"],
    "touch": ["触摸屏点不准，写字位置偏了一大截", "屏幕右下角触摸失灵，无法翻页"],
    "no_sound": ["播放视频没有声音，音箱指示灯不亮", "声音时有时无，有电流声"],
    "computer": ["电脑开机蓝屏，课件打不开", "电脑很卡，经常死机，要重启好几次", "开机卡在欢迎界面进不了桌面"],
    "network": ["电脑连不上校园网，国家中小学智慧教育平台打不开", "网络时断时续，视频一直缓冲"],
    "other": ["遥控器失灵，换了电池也不行", "投影画面上有一条竖线"],
}
FIX_TEXT = {
    "lamp": ("更换灯泡，清洁滤网", Ticket.Outcome.PART_REPLACED),
    "no_picture": ("重新接好 HDMI 线并更换转接头", Ticket.Outcome.PART_REPLACED),
    "power": ("更换电源板", Ticket.Outcome.PART_REPLACED),
    "touch": ("重新校准触摸框，升级驱动", Ticket.Outcome.REPAIRED),
    "no_sound": ("音频线松动，已重新接好", Ticket.Outcome.REPAIRED),
    "computer": ("重装系统，安装还原卡", Ticket.Outcome.REPAIRED),
    "network": ("更换网线水晶头，重新设置 IP", Ticket.Outcome.REPAIRED),
    "other": ("更换配件后恢复正常", Ticket.Outcome.PART_REPLACED),
}
# How the ~60 tickets of the last three months ended up (story, count).
TICKET_STORIES = (
    ("in_time", 27), ("late", 8), ("open_overdue", 5), ("open_fresh", 4), ("in_progress", 3),
    ("escalated_ours", 6), ("escalated_other", 3), ("reopened", 3), ("reopened_fixed", 2),
)
TICKET_DAYS = 90

# --- Usage -------------------------------------------------------------------------------------
# Ten schools get a timetable and, for their built classes, lesson records: the demo accounts'
# school (the device admin's) and the nine with the most built classes — about four in five of
# the county's Banbantong classes; the rest show on the dashboard as short.
USAGE_SCHOOLS = 10
RECORD_WEEKS = 8  # full weeks before this one (plus this week up to yesterday)
DAYS, PERIODS = 5, 6
MAX_TEACHER_PERIODS = 20
BULK_BATCH = 1000
# The week's subjects (periods) by grade band: 30 periods, six a day.
WEEK_PLAN: dict[str, list[tuple[str, int]]] = {
    "low": [("语文", 9), ("数学", 6), ("道德与法治", 2), ("科学", 2), ("音乐", 3), ("美术", 3), ("体育", 5)],
    "primary": [("语文", 7), ("数学", 6), ("英语", 3), ("科学", 2), ("道德与法治", 2), ("音乐", 2), ("美术", 2),
                ("体育", 4), ("信息技术", 2)],
    "7": [("语文", 6), ("数学", 5), ("英语", 5), ("生物", 2), ("地理", 2), ("历史", 2), ("道德与法治", 2),
          ("体育", 3), ("音乐", 1), ("美术", 1), ("信息技术", 1)],
    "8": [("语文", 5), ("数学", 5), ("英语", 5), ("物理", 3), ("生物", 2), ("地理", 2), ("历史", 2),
          ("道德与法治", 2), ("体育", 3), ("音乐", 1)],
    "9": [("语文", 6), ("数学", 6), ("英语", 5), ("物理", 3), ("化学", 3), ("历史", 2), ("道德与法治", 2),
          ("体育", 3)],
    "senior": [("语文", 5), ("数学", 5), ("英语", 5), ("物理", 3), ("化学", 3), ("生物", 2), ("历史", 2),
               ("地理", 2), ("道德与法治", 1), ("体育", 2)],
}
MORNING_SUBJECTS = frozenset({"语文", "数学", "英语", "物理", "化学"})
TOPICS: dict[str, list[str]] = {
    "语文": ["《秋天的雨》", "《富饶的西沙群岛》", "《草船借箭》", "《少年中国说》", "《背影》", "《春》", "《岳阳楼记》",
             "《孔乙己》", "古诗三首", "口语交际：讲故事", "习作：我的心儿怦怦跳", "《桂林山水》", "《荷塘月色》"],
    "数学": ["两位数乘两位数", "分数的初步认识", "小数的意义", "圆的面积", "百分数的应用", "一元一次方程", "全等三角形",
             "二次函数的图像", "平行四边形的面积", "统计与概率", "勾股定理", "集合的概念"],
    "英语": ["Unit 3 Look at me!", "Unit 5 My clothes", "Unit 2 Colours", "Unit 4 What can you do?",
             "Module 3 Unit 1", "Unit 6 Meet my family", "Reading: A trip to the zoo"],
    "科学": ["水的三态变化", "植物的一生", "电路的连接", "太阳系大家族", "声音的产生"],
    "道德与法治": ["我们的班规我们订", "家乡的变化", "法律保护我们健康成长", "友谊的天空"],
    "物理": ["光的反射", "牛顿第一定律", "欧姆定律", "浮力", "电功率", "机械能守恒"],
    "化学": ["物质的变化和性质", "氧气的制取", "质量守恒定律", "酸和碱的中和反应"],
    "生物": ["细胞的结构", "植物的光合作用", "人体的血液循环", "生态系统"],
    "历史": ["秦统一中国", "辛亥革命", "井冈山革命根据地的建立", "丝绸之路"],
    "地理": ["地球的运动", "中国的地形", "江西省的河流与湖泊", "气温和降水"],
    "音乐": ["《歌唱二小放牛郎》", "《茉莉花》", "《送别》", "认识五线谱"],
    "美术": ["色彩的冷暖", "家乡的桥", "剪纸艺术", "线描写生"],
    "体育": ["跳绳与游戏", "立定跳远", "篮球运球", "广播体操"],
    "信息技术": ["认识键盘", "用画图软件画画", "制作演示文稿", "搜索网络信息"],
}
RESOURCES = ["国家中小学智慧教育平台课件", "人教版数字教材", "自制 PPT 课件", "微课视频", "希沃白板课件",
             "江西省基础教育资源公共服务平台资源", "洋葱学院动画", "教材配套音频"]
LATE_RECORDS = 8  # lessons older than two weeks typed only today (flagged 事后补录)
HOLIDAY_RECORDS = 3  # lessons on a holiday (flagged 节假日上课)
COPIED_WEEKS = usage_rules.COPIED_WEEKS


class ActivityError(Exception):
    """Something the activity needs from the registry is missing."""


# --- The clock ---------------------------------------------------------------------------------


@contextmanager
def _clock(moment: dt.datetime) -> Iterator[None]:
    """Run the services as if it were `moment` (see the module docstring for why this is safe)."""
    original = timezone.now
    setattr(timezone, "now", lambda: moment)  # noqa: B010 - mypy refuses assigning to a function
    try:
        yield
    finally:
        setattr(timezone, "now", original)  # noqa: B010


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _pick(rng: random.Random, weighted: list[tuple[Any, int]]) -> Any:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


# --- Entry points ------------------------------------------------------------------------------


def build_activity(
    county: Region, *, seed: int, today: dt.date, progress: Callable[[str], None] | None = None
) -> None:
    """Plans, devices with tickets, a semester with timetables and records, for the demo county."""
    if today != timezone.localdate():
        raise ActivityError(
            f"演示的使用数据按当前时钟生成，today（{today}）必须是今天（{timezone.localdate()}）；测试请同时拨动时钟。"
        )
    _Activity(county, random.Random(seed * 7 + 1), today, progress or (lambda stage: None)).build()  # noqa: S311


def summary_lines(county: Region) -> tuple[str, ...]:
    """One line per part of the activity, for `bbt demo` to print (also on a rerun)."""
    lines = []
    targets = list(CoverageTarget.objects.filter(region=county).order_by("year"))
    funding = FundingSource.objects.filter(region=county).aggregate(n=Count("id"), total=Sum("amount"))
    scenarios = Scenario.objects.filter(region=county).count()
    adopted = Scenario.objects.filter(region=county, adopted_at__isnull=False).count()
    if targets or funding["n"] or scenarios:
        target_text = "、".join(f"{t.year} 年 {t.percent.normalize():f}%" for t in targets) or "未设"
        lines.append(
            f"规划：覆盖率目标 {target_text}；经费来源 {funding['n']} 笔，合计 {(funding['total'] or 0) / 10000:,.1f} 万元；"
            f"规划方案 {scenarios} 个（{f'已采用 {adopted} 个' if adopted else '均未采用'}，可在“方案比较”中对照）。"
        )
    devices = Device.objects.filter(school__region__parent=county)
    tickets = Ticket.objects.filter(school__region__parent=county)
    n_devices = devices.count()
    if n_devices:
        now = timezone.now()
        t = tickets.aggregate(
            n=Count("id"),
            open=Count("id", filter=~Q(state__in=[Ticket.State.RESOLVED, Ticket.State.CLOSED])),
            overdue=Count("id", filter=~Q(state__in=[Ticket.State.RESOLVED, Ticket.State.CLOSED]) & Q(fix_due__lt=now)),
            escalated=Count("id", filter=Q(escalated_to__isnull=False)),
        )
        companies = Company.objects.filter(region=county).count()
        lines.append(
            f"设备：{n_devices} 台（{devices.values('classroom').distinct().count()} 间班班通教室），厂家/集成商 {companies} 家；"
            f"报修单 {t['n']} 张（未完成 {t['open']} 张、其中超时 {t['overdue']} 张，转交集成商 {t['escalated']} 张）。"
        )
    semester = Semester.objects.filter(region=county).order_by("-start").first()
    if semester is not None:
        records = LessonRecord.objects.filter(school__region__parent=county, semester=semester)
        r = records.aggregate(
            n=Count("id"), proposed=Count("id", filter=Q(status=LessonRecord.Status.PROPOSED)),
            flagged=Count("id", filter=~Q(flags=[])), schools=Count("school", distinct=True),
        )
        slots = TimetableSlot.objects.filter(semester=semester)
        lines.append(
            f"应用：{semester.name}（{semester.start:%m-%d} 至 {semester.end:%m-%d}），"
            f"课表 {slots.values('klass__school').distinct().count()} 所学校；"
            f"应用记录 {r['n']} 条（近 {RECORD_WEEKS} 周，{r['schools']} 所学校），其中疑点 {r['flagged']} 条、"
            f"终端佐证待教师确认 {r['proposed']} 条。"
        )
    return tuple(lines)


# --- The builder -------------------------------------------------------------------------------


@dataclass
class _Lesson:
    """A lesson to record, and when its teacher typed it."""

    typed: dt.datetime
    klass: TeachingClass
    teacher: Teacher
    day: dt.date
    period: int
    subject: str
    topic: str
    resources: str
    has_plan: bool
    stored: bool
    special: bool = False  # late, on a holiday or copied: goes through record_lesson


@dataclass
class _Slot:
    klass_id: int
    weekday: int
    period: int
    subject: str
    teacher_id: int | None


class _Activity:
    def __init__(self, county: Region, rng: random.Random, today: dt.date, progress: Callable[[str], None]) -> None:
        self.county = county
        self.rng = rng
        self.today = today
        self.now = timezone.now()
        self.progress = progress
        users = {u.username: u for u in User.objects.filter(
            username__in=["admin", "device_admin", "integrator", "teacher"]).select_related("school", "region")}
        missing = {"admin", "device_admin", "integrator", "teacher"} - set(users)
        if missing:
            raise ActivityError(f"演示账号缺失：{'、'.join(sorted(missing))}")
        self.admin, self.device_admin = users["admin"], users["device_admin"]
        self.integrator, self.teacher_user = users["integrator"], users["teacher"]
        self.schools = {s.name: s for s in School.objects.filter(region__parent=county).select_related("region")}
        # The demo school is the one of the school-level accounts (demo.DEMO_SCHOOL).
        demo_school = self.device_admin.school
        if demo_school is None or demo_school.name not in self.schools:
            raise ActivityError("演示电教管理员账号没有所属学校。")
        self.demo_school = demo_school

    def _past(self, moment: dt.datetime) -> dt.datetime:
        """Never later than the real clock: nothing in the demo happens in the future."""
        return min(moment, self.now - dt.timedelta(minutes=1))

    def build(self) -> None:
        self._planning()
        self.progress(STAGES[0])
        self._devices()
        self._tickets()
        self.progress(STAGES[1])
        self._usage()
        self.progress(STAGES[2])

    # ---- planning ----
    def _planning(self) -> None:
        county, admin = self.county, self.admin
        start = self.today.year + 1
        years = [start + i for i in range(len(TARGETS))]
        day = self.today - dt.timedelta(days=21)
        with _clock(self._past(_at(day, 9, 40))):
            planning_services.set_targets(county, list(TARGETS), start_year=start, actor=admin)
        pupils = TeachingClass.objects.filter(school__region__parent=county).aggregate(n=Sum("pupils"))["n"] or 0
        entries: list[dict[str, Any]] = []
        for i, year in enumerate(years):
            entries.append({"kind": FundingSource.Kind.PER_PUPIL_FUNDS, "year": year, "pupils": pupils,
                            "per_pupil_amount": PER_PUPIL_AMOUNT, "share": PER_PUPIL_SHARE,
                            "note": f"全县在校生 {pupils} 人 × 生均 {PER_PUPIL_AMOUNT} 元 × 统筹 {PER_PUPIL_SHARE}%"})
            if i < len(CENTRAL_FUNDS):
                entries.append({"kind": FundingSource.Kind.CENTRAL, "year": year, "amount": CENTRAL_FUNDS[i],
                                "note": "中央薄弱学校改造补助资金（信息化部分）"})
            entries.append({"kind": FundingSource.Kind.MATCHING, "year": year, "amount": MATCHING_FUNDS,
                            "note": "县教育局与学校按 7:3 配套"})
        for i, data in enumerate(entries):
            with _clock(self._past(_at(day, 10, 5 + i))):
                planning_services.add_funding(county, actor=admin, data=data)
        target_text = ",".join(TARGETS)
        with _clock(self._past(_at(day + dt.timedelta(days=2), 15, 20))):
            spec = planning_services.prepare_plan(county, targets=target_text, start_year=start)
            planning_services.save_scenario(admin, spec, name=SCENARIO_FREE)
        with _clock(self._past(_at(day + dt.timedelta(days=2), 15, 45))):
            spec = planning_services.prepare_plan(county, targets=target_text, start_year=start,
                                                  budget_per_year=TIGHT_BUDGET)
            planning_services.save_scenario(admin, spec, name=SCENARIO_TIGHT)

    # ---- devices ----
    def _devices(self) -> None:
        rng, county = self.rng, self.county
        companies: dict[str, Company] = {}
        with _clock(self._past(_at(self.today - dt.timedelta(days=1200), 9, 0))):
            for name, kind, person, phone, address in COMPANIES:
                company = Company.objects.create(region=county, name=name, kind=kind, contact_person=person,
                                                 after_sales_phone=phone, address=address)
                audit.record(audit.Action.CREATE, company, actor=self.admin, after=audit.snapshot(company))
                companies[name] = company
        ours = companies[INTEGRATOR_COMPANY]
        ours.members.add(self.integrator)
        other = next(c for n, c in companies.items() if n != INTEGRATOR_COMPANY and c.kind == Company.Kind.INTEGRATOR)
        vendor = next(c for c in companies.values() if c.kind == Company.Kind.VENDOR)
        served = set(self.integrator.assigned_schools.values_list("id", flat=True))
        rooms = (
            Classroom.objects.filter(school__region__parent=county, teaching_class__status__in=TeachingClass.BUILT_STATUSES)
            .select_related("school", "teaching_class__mode").order_by("school_id", "id")
        )
        built_on = self._built_dates(county)
        serials: set[str] = set()
        by_school: dict[int, tuple[Any, Any, Any, Company]] = {}
        registrations = []
        for room in rooms:
            klass = room.teaching_class
            if klass is None:
                continue
            school = room.school
            if school.pk not in by_school:
                # One procurement per school: the same models throughout, by one integrator.
                integrator = ours if school.pk in served or (
                    school.kind.startswith("urban") and rng.random() < 0.5) else other
                by_school[school.pk] = (_pick(rng, PROJECTORS), _pick(rng, DISPLAYS), _pick(rng, COMPUTERS), integrator)
            projector, display, computer, integrator = by_school[school.pk]
            done = built_on.get(klass.pk, self.today - dt.timedelta(days=400))
            bought = max(done - dt.timedelta(days=rng.randint(7, 40)), dt.date(done.year, 1, 1))
            # The plan's modes: 投影仪+电脑 or 液晶电视+电脑 (a large display, for the lower grades).
            projecting = klass.mode is not None and klass.mode.code == "projector_pc"
            screen_type: str = Device.Type.PROJECTOR if projecting else Device.Type.LCD_TV
            screen = projector if projecting else display
            pieces: tuple[tuple[str, Any], ...] = ((screen_type, screen), (Device.Type.COMPUTER, computer))
            for device_type, (brand, model, price, prefix) in pieces:
                serial = self._serial(prefix, bought, serials)
                registrations.append((done, device_services.DeviceInput(
                    school=school, classroom=room, type=device_type, brand=brand, model=model, serial=serial,
                    supplier=vendor, integrator=integrator, purchase_date=bought, price=price,
                    warranty_end=_add_years(bought, WARRANTY_YEARS), responsible=f"{klass.grade_label}{klass.name}班主任",
                )))
        registrations.sort(key=lambda r: (r[0], r[1].school.pk))
        for done, data in registrations:
            actor = self.device_admin if data.school.pk == self.demo_school.pk else self.admin
            with _clock(self._past(_at(done, 16, rng.randint(0, 59)))):
                device_services.register_device(data, actor=actor)

    def _built_dates(self, county: Region) -> dict[int, dt.date]:
        from banbantong.org.models import ClassStatusChange

        return dict(
            ClassStatusChange.objects.filter(klass__school__region__parent=county, new_status=TeachingClass.Status.BUILT)
            .values_list("klass_id", "changed_on")
        )

    def _serial(self, prefix: str, bought: dt.date, taken: set[str]) -> str:
        while True:
            serial = f"{prefix}{bought:%y%m}{self.rng.randrange(10**6):06d}"
            if serial not in taken:
                taken.add(serial)
                return serial

    # ---- tickets ----
    def _tickets(self) -> None:
        rng = self.rng
        devices = list(
            Device.objects.filter(school__region__parent=self.county).select_related("school", "integrator")
            .order_by("id")
        )
        served = set(self.integrator.assigned_schools.values_list("id", flat=True))
        ours = Company.objects.get(region=self.county, name=INTEGRATOR_COMPANY)
        reporters: dict[int, list[User]] = {}
        for t in Teacher.objects.filter(school__region__parent=self.county, school__devices__isnull=False).distinct() \
                .select_related("user").order_by("id"):
            reporters.setdefault(t.school_id, []).append(t.user)
        # Some models fail more often than others: the figures page should show it.
        weight = {"CB-X49": 3.0, "启天M428": 2.0, "HZ55E3D": 1.5}
        used: set[int] = set()
        stories = [story for story, n in TICKET_STORIES for _ in range(n)]
        for i, story in enumerate(stories):
            if story == "escalated_ours":
                pool = [d for d in devices if d.school_id in served and d.integrator_id == ours.pk]
            elif story == "escalated_other":
                pool = [d for d in devices if d.integrator_id not in (None, ours.pk)]
            else:
                pool = devices
            pool = [d for d in pool if d.pk not in used] or pool
            device = rng.choices(pool, weights=[weight.get(d.model, 1.0) for d in pool])[0]
            used.add(device.pk)
            self._ticket(story, device, reporters.get(device.school_id, []), i)

    def _created(self, story: str) -> dt.datetime:
        rng, today = self.rng, self.today
        if story == "open_fresh":
            # Reported in the last school day or so: within school hours, before now.
            moment = timezone.localtime(self.now - dt.timedelta(hours=rng.uniform(1.5, 30)))
            if not 7 <= moment.hour < 17:
                day = moment.date() - dt.timedelta(days=1 if moment.hour < 7 else 0)
                moment = _at(day, rng.randint(9, 16), rng.randint(0, 59))
            return moment
        back = {"open_overdue": (6, 40), "in_progress": (1, 6), "reopened": (8, 30)}.get(story, (2, TICKET_DAYS))
        day = today - dt.timedelta(days=rng.randint(*back))
        while day.weekday() >= 5:
            day -= dt.timedelta(days=1)
        return _at(day, rng.choice((7, 8, 9, 10, 11, 14, 15, 16)), rng.randint(0, 59))

    def _ticket(self, story: str, device: Device, reporters: list[User], index: int) -> None:
        rng = self.rng
        fault = _pick(rng, FAULTS.get(device.type, FAULTS[Device.Type.COMPUTER]))
        text = rng.choice(FAULT_TEXT[fault])
        created = self._past(self._created(story))
        priority = "high" if fault not in ("no_picture", "power") and rng.random() < 0.15 else None
        school = device.school
        worker = self.device_admin if school.pk == self.demo_school.pk else self.admin
        with _clock(created):
            if reporters and rng.random() < 0.7:
                ticket = device_services.report_fault(device, actor=rng.choice(reporters), fault=fault,
                                                      description=text, priority=priority)
            else:
                ticket = device_services.report_fault_by_qr(
                    device.qr_token, ip=f"10.36.{school.pk % 250}.{index + 10}", fault=fault, description=text,
                    name=rng.choice(("刘老师", "王老师", "班长", "周老师", "值日生")), phone="")
        respond_hours, fix_hours = device_services.sla_hours(school.region_path)[ticket.priority]
        respond_h, fix_h = float(respond_hours), float(fix_hours)
        fix_note, outcome = FIX_TEXT[fault]

        def at(hours: float) -> dt.datetime | None:
            moment = created + dt.timedelta(hours=hours)
            return moment if moment < self.now - dt.timedelta(minutes=1) else None

        def move(moment: dt.datetime | None, actor: User, state: str, **kwargs: Any) -> bool:
            nonlocal ticket
            if moment is None:
                return False
            with _clock(moment):
                ticket = device_services.change_ticket(ticket, actor=actor, state=state, **kwargs)
            return True

        def start(hours: float, actor: User) -> bool:
            if school.pk == self.demo_school.pk:
                return move(at(hours), actor, Ticket.State.ASSIGNED, assignee=self.device_admin,
                            note="已安排电教管理员处理")
            return move(at(hours), actor, Ticket.State.IN_PROGRESS, note="已电话联系学校，安排上门维修")

        def finish(hours: float, actor: User, close_after: float | None = None) -> bool:
            if not move(at(hours), actor, Ticket.State.RESOLVED, outcome=outcome, note=fix_note):
                return False
            if close_after is not None:
                move(at(hours + close_after), worker, Ticket.State.CLOSED, note="回访老师，使用正常")
            return True

        close = rng.uniform(20, 96) if rng.random() < 0.6 else None
        if story == "in_time":
            first = respond_h * rng.uniform(0.1, 0.8)
            start(first, worker)
            finish(first + (fix_h - first) * rng.uniform(0.2, 0.9), worker, close)
        elif story == "late":
            first = respond_h * rng.uniform(0.5, 1.6)
            start(first, worker)
            finish(fix_h * rng.uniform(1.15, 2.5), worker, close)
        elif story == "open_overdue":
            if rng.random() < 0.5:
                start(respond_h * rng.uniform(0.5, 2.0), worker)
        elif story == "in_progress":
            move(at(respond_h * rng.uniform(0.2, 0.9)), worker, Ticket.State.IN_PROGRESS, note="已检修，等待配件")
        elif story in ("escalated_ours", "escalated_other"):
            hand_over = at(respond_h * rng.uniform(0.2, 0.9))
            if hand_over is None or not device.under_warranty(hand_over.date()):
                return
            with _clock(hand_over):
                ticket = device_services.escalate(ticket, actor=worker)
            fixer = self.integrator if story == "escalated_ours" else worker
            late = story == "escalated_other" or rng.random() < 0.2
            move(at(respond_h * rng.uniform(1.0, 2.0)), fixer, Ticket.State.IN_PROGRESS, note="工程师已到校检修")
            if story == "escalated_other" and rng.random() < 0.35:
                return  # still with the other integrator
            finish(fix_h * (rng.uniform(1.1, 1.8) if late else rng.uniform(0.4, 0.95)), fixer, close)
        elif story in ("reopened", "reopened_fixed"):
            first = respond_h * rng.uniform(0.1, 0.8)
            start(first, worker)
            fixed = first + (fix_h - first) * rng.uniform(0.3, 0.9)
            if not finish(fixed, worker):
                return
            again = fixed + rng.uniform(20, 72)
            move(at(again), worker, Ticket.State.OPEN, reason="老师反映同样的故障又出现了")
            if story == "reopened_fixed":
                move(at(again + rng.uniform(2, 20)), worker, Ticket.State.IN_PROGRESS, note="重新检修")
                finish(again + rng.uniform(24, 60), worker, rng.uniform(20, 48))

    # ---- usage ----
    def _usage(self) -> None:
        semester, cal = self._calendar()
        schools = self._usage_schools()
        slots_by_class = self._timetables(semester, schools)
        days = self._record_days(cal, semester)
        if days:
            self._records(semester, cal, schools, slots_by_class, days)

    def _calendar(self) -> tuple[Semester, usage_rules.CalendarFacts]:
        start, end, name, holidays, makeups = semester_bounds(self.today)
        first = max(start - dt.timedelta(days=10), self.today - dt.timedelta(days=300))
        with _clock(self._past(_at(first, 10, 0))):
            semester = usage_services.add_semester(self.county, actor=self.admin, name=name, start=start, end=end)
            for day, note in holidays:
                usage_services.add_calendar_day(actor=self.admin, region=self.county, date=day,
                                                kind=CalendarDay.Kind.HOLIDAY, note=note)
            for day, follows, note in makeups:
                usage_services.add_calendar_day(actor=self.admin, region=self.county, date=day,
                                                kind=CalendarDay.Kind.MAKEUP, follows_weekday=follows, note=note)
        return semester, usage_services.calendar_for(self.demo_school, semester)

    def _usage_schools(self) -> list[School]:
        """The demo school and the schools with the most built classes: most of the county's
        Banbantong classes keep records, the rest show up as short on the dashboard."""
        others = sorted((s for s in self.schools.values() if s.built_count and s.pk != self.demo_school.pk),
                        key=lambda s: (-s.built_count, s.name))
        return [self.demo_school, *others[: USAGE_SCHOOLS - 1]]

    def _timetables(self, semester: Semester, schools: list[School]) -> dict[int, list[_Slot]]:
        """Weekday 1–5 × periods 1–6 for every class of the schools; no teacher in two places."""
        slots: list[_Slot] = []
        demo_teacher = Teacher.objects.get(user=self.teacher_user)
        self.class_school: dict[int, int] = {}
        for school in schools:
            classes = list(TeachingClass.objects.filter(school=school).order_by("grade", "name"))
            self.class_school.update((c.pk, school.pk) for c in classes)
            teachers = list(Teacher.objects.filter(school=school).order_by("id"))
            # Built classes first: they are the ones the records are about.
            classes.sort(key=lambda c: (c.status not in TeachingClass.BUILT_STATUSES, c.grade, c.name))
            favourite = demo_teacher if school.pk == demo_teacher.school_id else None
            slots += self._school_timetable(classes, teachers, favourite)
        TimetableSlot.objects.bulk_create(
            [TimetableSlot(klass_id=s.klass_id, semester=semester, weekday=s.weekday, period=s.period,
                           subject=s.subject, teacher_id=s.teacher_id) for s in slots],
            batch_size=BULK_BATCH,
        )
        by_class: dict[int, list[_Slot]] = {}
        for s in slots:
            by_class.setdefault(s.klass_id, []).append(s)
        # One entry per school, as usage.timetables.import_timetable leaves for an Excel import.
        with _clock(self._past(_at(semester.start - dt.timedelta(days=3), 11, 0))):
            for school in schools:
                mine = {s.klass_id for s in slots if self.class_school.get(s.klass_id) == school.pk}
                audit.record(audit.Action.IMPORT, school, actor=self.admin, object_type="usage.TimetableSlot",
                             after={"semester": semester.name, "classes": len(mine),
                                    "slots": sum(1 for s in slots if s.klass_id in mine)})
        return by_class

    def _school_timetable(
        self, classes: list[TeachingClass], teachers: list[Teacher], favourite: Teacher | None
    ) -> list[_Slot]:
        rng = self.rng
        load = {t.pk: 0 for t in teachers}
        busy: dict[int, set[tuple[int, int]]] = {t.pk: set() for t in teachers}
        out: list[_Slot] = []
        for klass in classes:
            plan = _week_plan(klass.grade)
            chosen: dict[str, int | None] = {}
            for subject, n in plan:
                room = [t for t in teachers if load[t.pk] + n <= MAX_TEACHER_PERIODS]
                same = [t for t in room if t.subject == subject]
                teacher: Teacher | None
                if favourite is not None and favourite in same and klass.status in TeachingClass.BUILT_STATUSES \
                        and load[favourite.pk] < 14:
                    teacher = favourite  # the `teacher` account teaches in built classes
                elif same:
                    teacher = min(same, key=lambda t: (load[t.pk], rng.random()))
                elif room:
                    # Small schools: a subject without its own teacher goes to whoever has room (兼课).
                    teacher = min(room, key=lambda t: (load[t.pk], rng.random()))
                else:
                    teacher = None
                chosen[subject] = teacher.pk if teacher else None
                if teacher is not None:
                    load[teacher.pk] += n
            free = {(d, p) for d in range(1, DAYS + 1) for p in range(1, PERIODS + 1)}
            per_day: dict[tuple[int, str], int] = {}
            items = [s for s, n in plan for _ in range(n)]
            items.sort(key=lambda s: (s not in MORNING_SUBJECTS, rng.random()))
            for subject in items:
                tid = chosen[subject]
                cell = min(free, key=lambda c: (
                    per_day.get((c[0], subject), 0) >= 2,  # not three of a subject in one day
                    tid is not None and c in busy[tid],  # the teacher is in another class then
                    (c[1] > 4) == (subject in MORNING_SUBJECTS),  # main subjects in the morning
                    rng.random(),
                ))
                free.discard(cell)
                per_day[(cell[0], subject)] = per_day.get((cell[0], subject), 0) + 1
                # A period the teacher cannot take stays without a teacher (待排) rather than double-booked.
                teacher_id = tid if tid is not None and cell not in busy[tid] else None
                if teacher_id is not None:
                    busy[teacher_id].add(cell)
                out.append(_Slot(klass.pk, cell[0], cell[1], subject, teacher_id))
        return out

    def _record_days(self, cal: usage_rules.CalendarFacts, semester: Semester) -> list[dt.date]:
        monday = usage_rules.week_start(self.today)
        first = max(monday - dt.timedelta(weeks=RECORD_WEEKS), semester.start)
        last = min(self.today - dt.timedelta(days=1), semester.end)
        days = []
        day = first
        while day <= last:
            if cal.is_teaching_day(day):
                days.append(day)
            day += dt.timedelta(days=1)
        return days

    def _records(
        self, semester: Semester, cal: usage_rules.CalendarFacts, schools: list[School],
        slots_by_class: dict[int, list[_Slot]], days: list[dt.date],
    ) -> None:
        rng = self.rng
        school_ids = [s.pk for s in schools]
        classes = list(
            TeachingClass.objects.filter(school_id__in=school_ids, status__in=TeachingClass.BUILT_STATUSES)
            .select_related("school").order_by("school_id", "grade", "name")
        )
        teachers = {t.pk: t for t in Teacher.objects.filter(school_id__in=school_ids).select_related("user")}
        demo_teacher = next(t for t in teachers.values() if t.user_id == self.teacher_user.pk)
        last_monday = usage_rules.week_start(self.today) - dt.timedelta(weeks=1)
        # The classroom whose terminal reports its use: one of the demo teacher's built classes. The
        # teacher has not typed last week's lessons there; the events propose them instead.
        event_class = next((c for c in classes if any(
            s.teacher_id == demo_teacher.pk for s in slots_by_class.get(c.pk, []))), None)
        # One teacher fills the same week pattern for three weeks running (flagged 多周内容雷同).
        copier, copy_weeks = self._copier(classes, slots_by_class, cal, days, demo_teacher.pk)
        weeks = sorted({usage_rules.week_start(d) for d in days})
        by_week = {w: [d for d in days if usage_rules.week_start(d) == w] for w in weeks}
        lessons: list[_Lesson] = []
        for klass in classes:
            slots = [s for s in slots_by_class.get(klass.pk, []) if s.teacher_id]
            profile = rng.random()
            for week in weeks:
                # Most classes meet the weekly 10 (pro-rated for short weeks); some fall short.
                if profile < 0.75:
                    per_week = rng.randint(11, 15)
                elif profile < 0.9:
                    per_week = rng.randint(7, 12)
                else:
                    per_week = rng.randint(2, 7)
                want = round(per_week * min(cal.teaching_days_in_week(week), DAYS) / DAYS)
                candidates = []
                for day in by_week[week]:
                    weekday = cal.timetable_weekday(day)
                    for slot in slots:
                        if slot.weekday != weekday:
                            continue
                        if klass == event_class and week == last_monday and slot.teacher_id == demo_teacher.pk:
                            continue
                        if slot.teacher_id == copier and week in copy_weeks:
                            continue  # the copier's weeks are written below, the same each week
                        candidates.append((day, slot))
                rng.shuffle(candidates)
                for day, slot in candidates[:want]:
                    lessons.append(self._lesson(klass, teachers, slot, day))
        lessons += self._copier_lessons(copier, copy_weeks, classes, slots_by_class, cal, by_week, teachers)
        lessons += self._holiday_lessons(classes, slots_by_class, cal, teachers, days)
        self._type_some_late(lessons)
        # The demo teacher's records and every odd one go through record_lesson, one by one, as
        # typed; the rest (thousands, ~20 ms each through the service) are written in bulk.
        one_by_one = [x for x in lessons if x.special or x.teacher.pk == demo_teacher.pk]
        self._bulk_records(semester, cal, [x for x in lessons if not (x.special or x.teacher.pk == demo_teacher.pk)],
                           slots_by_class)
        for x in sorted(one_by_one, key=lambda x: (x.typed, x.day, x.period, x.klass.pk)):
            with _clock(x.typed):
                usage_services.record_lesson(
                    actor=x.teacher.user, klass=x.klass, teacher=x.teacher, date=x.day, period=x.period,
                    topic=x.topic, resources=x.resources, has_plan=x.has_plan, recorded=True, stored=x.stored,
                )
        if event_class is not None:
            self._events(event_class, slots_by_class[event_class.pk], cal, last_monday, demo_teacher.pk)

    def _lesson(self, klass: TeachingClass, teachers: dict[int, Teacher], slot: _Slot, day: dt.date,
                topic: str = "", resources: str = "", special: bool = False) -> _Lesson:
        rng = self.rng
        return _Lesson(
            typed=self._typed(day, slot.period), klass=klass, teacher=teachers[slot.teacher_id or 0], day=day,
            period=slot.period, subject=slot.subject, topic=topic or _topic(rng, slot.subject),
            resources=resources or rng.choice(RESOURCES), has_plan=rng.random() < 0.8, stored=rng.random() < 0.6,
            special=special,
        )

    def _typed(self, day: dt.date, period: int) -> dt.datetime:
        """When the teacher typed the record: mostly after school that day, sometimes the next evening."""
        rng = self.rng
        end = usage_rules.DEFAULT_PERIOD_TIMES[period][1]
        if rng.random() < 0.85:
            moment = _at(day, max(end.hour + 1, 16), rng.randint(0, 59)) + dt.timedelta(minutes=rng.randint(0, 240))
        else:
            moment = _at(day + dt.timedelta(days=1), rng.randint(19, 21), rng.randint(0, 59))
        return self._past(moment)

    def _type_some_late(self, lessons: list[_Lesson]) -> None:
        """A few lessons from more than two weeks ago are typed only now (flagged 事后补录)."""
        cutoff = self.today - dt.timedelta(days=usage_rules.LATE_ENTRY_DAYS + 1)
        old = [x for x in lessons if x.day < cutoff and not x.special]
        for x in self.rng.sample(old, min(LATE_RECORDS, len(old))):
            x.typed = self._past(self.now - dt.timedelta(minutes=self.rng.randint(30, 600)))
            x.special = True

    def _copier(
        self, classes: list[TeachingClass], slots_by_class: dict[int, list[_Slot]], cal: usage_rules.CalendarFacts,
        days: list[dt.date], demo_teacher: int,
    ) -> tuple[int | None, list[dt.date]]:
        # Three consecutive ordinary weeks (five teaching days, all of them past, no 调休).
        weeks = sorted({usage_rules.week_start(d) for d in days})
        ordinary = [w for w in weeks
                    if sum(1 for d in days if usage_rules.week_start(d) == w) == DAYS
                    and not any(w + dt.timedelta(days=i) in cal.makeup_days for i in range(7))]
        run: list[dt.date] = []
        for week in ordinary:
            run = [*run, week][-COPIED_WEEKS:] if run and week - run[-1] == dt.timedelta(weeks=1) else [week]
            if len(run) == COPIED_WEEKS:
                break
        if len(run) < COPIED_WEEKS:
            return None, []
        teachers = [s.teacher_id for c in classes if c.school_id != self.demo_school.pk
                    for s in slots_by_class.get(c.pk, []) if s.teacher_id and s.teacher_id != demo_teacher]
        return (teachers[len(teachers) // 2] if teachers else None), run

    def _copier_lessons(
        self, copier: int | None, weeks: list[dt.date], classes: list[TeachingClass],
        slots_by_class: dict[int, list[_Slot]], cal: usage_rules.CalendarFacts, by_week: dict[dt.date, list[dt.date]],
        teachers: dict[int, Teacher],
    ) -> list[_Lesson]:
        if copier is None:
            return []
        mine = sorted(((c, s) for c in classes for s in slots_by_class.get(c.pk, []) if s.teacher_id == copier),
                      key=lambda cs: (cs[1].weekday, cs[1].period))
        pattern = [(klass, slot, f"{_topic(self.rng, slot.subject)}（练习）") for klass, slot in mine[:4]]
        out = []
        for week in weeks:
            for klass, slot, topic in pattern:
                day = next((d for d in by_week.get(week, []) if cal.timetable_weekday(d) == slot.weekday), None)
                if day is not None:
                    out.append(self._lesson(klass, teachers, slot, day, topic, "自制 PPT 课件", special=True))
        return out

    def _holiday_lessons(
        self, classes: list[TeachingClass], slots_by_class: dict[int, list[_Slot]], cal: usage_rules.CalendarFacts,
        teachers: dict[int, Teacher], days: list[dt.date],
    ) -> list[_Lesson]:
        """Lessons on a weekday of a holiday (国庆, say): make-up classes nobody sanctioned."""
        odd = sorted(d for d in cal.holidays if days[0] <= d <= days[-1] and d.weekday() < DAYS)
        if not odd:
            return []
        out = []
        for klass in self.rng.sample(classes, min(HOLIDAY_RECORDS, len(classes))):
            day = self.rng.choice(odd)
            slot = next((s for s in sorted(slots_by_class.get(klass.pk, []), key=lambda s: s.period)
                         if s.weekday == day.isoweekday() and s.teacher_id), None)
            if slot is not None:
                topic = _topic(self.rng, slot.subject) + "（假期补课）"
                out.append(self._lesson(klass, teachers, slot, day, topic, special=True))
        return out

    def _bulk_records(
        self, semester: Semester, cal: usage_rules.CalendarFacts, lessons: list[_Lesson],
        slots_by_class: dict[int, list[_Slot]],
    ) -> None:
        """Ordinary records in bulk, with the flags and roll-ups record_lesson would have given them.

        The same rules (usage.rules.flags_for, services.week_minimums) and the same roll-up
        semantics as services._bump: confirmed records only; a class complies when built and at
        or above the week's minimum, a teacher when at or above a non-zero minimum. The
        one-by-one records that follow then move these roll-ups through _bump as usual.
        """
        if not lessons:
            return
        periods: dict[tuple[int, int], set[int]] = {}
        for klass_id, slots in slots_by_class.items():
            for s in slots:
                periods.setdefault((klass_id, s.weekday), set()).add(s.period)
        at_once: dict[tuple[int, dt.date, int], set[int]] = {}
        for x in lessons:
            at_once.setdefault((x.teacher.pk, x.day, x.period), set()).add(x.klass.pk)
        records = []
        for x in lessons:
            typed_on = timezone.localtime(x.typed).date()
            flags = usage_rules.flags_for(
                usage_rules.Lesson(0, x.day, x.period, x.klass.pk, x.teacher.pk, x.topic, typed_on), cal,
                periods.get((x.klass.pk, cal.timetable_weekday(x.day))) or set(usage_rules.DEFAULT_PERIOD_TIMES),
                len(at_once[(x.teacher.pk, x.day, x.period)] - {x.klass.pk}),
            )
            records.append(LessonRecord(
                klass=x.klass, school_id=x.klass.school_id, teacher=x.teacher, semester=semester, date=x.day,
                week=usage_rules.week_start(x.day), period=x.period, subject=x.subject[:20], topic=x.topic[:100],
                resources=x.resources[:300], has_plan=x.has_plan, used_in_class=True, recorded=True, stored=x.stored,
                evidence=LessonRecord.Evidence.MANUAL, status=LessonRecord.Status.CONFIRMED, flags=flags,
                created_by_id=x.teacher.user_id,
            ))
        LessonRecord.objects.bulk_create(records, batch_size=BULK_BATCH)
        _set_created_at([(r.pk, x.typed) for r, x in zip(records, lessons, strict=True)])
        self._bulk_rollups(semester, records)
        audit.record(
            audit.Action.IMPORT, self.county, actor=None, object_type="usage.LessonRecord",
            object_repr="演示数据：应用记录（批量写入）",
            after={"records": len(records), "schools": len({r.school_id for r in records}),
                   "classes": len({r.klass_id for r in records}), "semester": semester.name},
        )

    def _bulk_rollups(self, semester: Semester, records: list[LessonRecord]) -> None:
        schools = {s.pk: s for s in School.objects.filter(pk__in={r.school_id for r in records})}
        mins = {(sid, week): usage_services.week_minimums(schools[sid], week)
                for sid, week in {(r.school_id, r.week) for r in records}}
        built = set(TeachingClass.objects.filter(pk__in={r.klass_id for r in records},
                                                 status__in=TeachingClass.BUILT_STATUSES).values_list("id", flat=True))
        per_class = Counter((r.klass_id, r.school_id, r.week) for r in records)
        per_teacher = Counter((r.teacher_id, r.school_id, r.week) for r in records)
        class_weeks = [
            ClassWeek(klass_id=k, school_id=s, week=w, lessons=n, minimum=mins[(s, w)].klass,
                      compliant=k in built and usage_rules.compliant(n, mins[(s, w)].klass))
            for (k, s, w), n in per_class.items()
        ]
        teacher_weeks = [
            TeacherWeek(teacher_id=t, school_id=s, week=w, lessons=n, minimum=mins[(s, w)].teacher,
                        compliant=usage_rules.compliant(n, mins[(s, w)].teacher) and mins[(s, w)].teacher > 0)
            for (t, s, w), n in per_teacher.items()
        ]
        lessons = Counter((r.school_id, r.week) for r in records)
        flagged = Counter((r.school_id, r.week) for r in records if r.flags)
        ok_classes = Counter((c.school_id, c.week) for c in class_weeks if c.compliant)
        ok_teachers = Counter((t.school_id, t.week) for t in teacher_weeks if t.compliant)
        ClassWeek.objects.bulk_create(class_weeks, batch_size=BULK_BATCH)
        TeacherWeek.objects.bulk_create(teacher_weeks, batch_size=BULK_BATCH)
        SchoolWeek.objects.bulk_create([
            SchoolWeek(school_id=s, region_path=schools[s].region_path, week=w, lessons=n, flagged=flagged[(s, w)],
                       bbt=schools[s].built_count > 0,
                       compliant_classes=ok_classes[(s, w)], compliant_teachers=ok_teachers[(s, w)])
            for (s, w), n in lessons.items()
        ], batch_size=BULK_BATCH)
        usage_services.rebuild_place_weeks(sorted({w for _, w in lessons}))
        TeacherSemester.objects.bulk_create([
            TeacherSemester(teacher_id=t, school_id=s, semester=semester, lessons=n)
            for (t, s), n in Counter((r.teacher_id, r.school_id) for r in records).items()
        ], batch_size=BULK_BATCH)

    def _events(self, klass: TeachingClass, slots: list[_Slot], cal: usage_rules.CalendarFacts,
                monday: dt.date, teacher_id: int) -> None:
        """Last week's terminal log for one classroom, sent in one batch with its idempotency key."""
        room = Classroom.objects.select_related("school", "teaching_class").get(teaching_class=klass)
        recorded = set(LessonRecord.objects.filter(klass=klass, week=monday).values_list("date", "period"))
        events: list[dict[str, Any]] = []
        for i in range(7):
            day = monday + dt.timedelta(days=i)
            if day >= self.today or not cal.is_teaching_day(day):
                continue
            weekday = cal.timetable_weekday(day)
            for slot in sorted(slots, key=lambda s: s.period):
                if slot.weekday != weekday:
                    continue
                if not (slot.teacher_id == teacher_id or (day, slot.period) in recorded):
                    continue
                begin, end = usage_rules.DEFAULT_PERIOD_TIMES[slot.period]
                on = _at(day, begin.hour, begin.minute) - dt.timedelta(minutes=self.rng.randint(1, 5))
                off = _at(day, end.hour, end.minute) + dt.timedelta(minutes=self.rng.randint(0, 4))
                events.append({"kind": "power_on", "at": on.isoformat()})
                events.append({"kind": "resource_opened", "at": (on + dt.timedelta(minutes=6)).isoformat(),
                               "resource": f"D:/班班通资源/{slot.subject}/{_topic(self.rng, slot.subject)}.pptx"})
                events.append({"kind": "power_off", "at": off.isoformat()})
        if not events:
            return
        sent = self._past(_at(monday + dt.timedelta(days=6), 20, 0))
        with _clock(sent):
            usage_services.ingest_events(actor=None, key=f"demo-{room.pk}-{usage_rules.iso_week(monday)}",
                                         classroom=room, events=events)


def _set_created_at(rows: list[tuple[int, dt.datetime]]) -> None:
    """Put back when each bulk record was typed (created_at is auto_now_add, so bulk_create
    stamps the build time). One prepared UPDATE: bulk_update's CASE takes half a minute here."""
    field = LessonRecord._meta.get_field("created_at")
    quote = connection.ops.quote_name
    table, column, pk = quote(LessonRecord._meta.db_table), quote(str(field.column)), quote("id")
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET {column} = %s WHERE {pk} = %s",  # noqa: S608 - names from the model
            [(field.get_db_prep_value(at, connection), record_id) for record_id, at in rows],
        )


def _week_plan(grade: int) -> list[tuple[str, int]]:
    if grade <= 2:
        return WEEK_PLAN["low"]
    if grade <= 6:
        return WEEK_PLAN["primary"]
    if grade <= 9:
        return WEEK_PLAN[str(grade)]
    return WEEK_PLAN["senior"]


def _topic(rng: random.Random, subject: str) -> str:
    return rng.choice(TOPICS.get(subject, ["复习与练习"]))


# --- The school calendar -----------------------------------------------------------------------
# 国庆 by year as the State Council set it: (first, last day off, make-up workdays). Other years
# get 1–7 October with the Sunday before and the Saturday after as make-up days.
NATIONAL_DAY: dict[int, tuple[dt.date, dt.date, tuple[dt.date, ...]]] = {
    2023: (dt.date(2023, 9, 29), dt.date(2023, 10, 6), (dt.date(2023, 10, 7), dt.date(2023, 10, 8))),
    2024: (dt.date(2024, 10, 1), dt.date(2024, 10, 7), (dt.date(2024, 9, 29), dt.date(2024, 10, 12))),
    2025: (dt.date(2025, 10, 1), dt.date(2025, 10, 8), (dt.date(2025, 9, 28), dt.date(2025, 10, 11))),
    2026: (dt.date(2026, 10, 1), dt.date(2026, 10, 7), (dt.date(2026, 9, 20), dt.date(2026, 10, 10))),
}


def _national_day(year: int) -> tuple[dt.date, dt.date, tuple[dt.date, ...]]:
    if year in NATIONAL_DAY:
        return NATIONAL_DAY[year]
    first, last = dt.date(year, 10, 1), dt.date(year, 10, 7)
    before = first - dt.timedelta(days=(first.isoweekday() % 7) or 7)  # the Sunday before
    after = last + dt.timedelta(days=(6 - last.isoweekday()) % 7 or 7)  # the Saturday after
    return first, last, (before, after)


def semester_bounds(
    today: dt.date,
) -> tuple[dt.date, dt.date, str, list[tuple[dt.date, str]], list[tuple[dt.date, int, str]]]:
    """The 吉水 semester containing today (or, in a holiday, the one just ended): start, end, name,
    holidays (date, note) and make-up workdays (date, weekday whose timetable runs, note)."""
    y = today.year
    spring = (dt.date(y, 2, 20), dt.date(y, 7, 10))
    if today < spring[0]:
        kind, start, end = "autumn", dt.date(y - 1, 9, 1), dt.date(y, 1, 22)
    elif today < dt.date(y, 9, 1):
        kind, (start, end) = "spring", spring
    else:
        kind, start, end = "autumn", dt.date(y, 9, 1), dt.date(y + 1, 1, 22)
    holidays: list[tuple[dt.date, str]] = []
    makeups: list[tuple[dt.date, int, str]] = []
    if kind == "autumn":
        name = f"{start.year}—{start.year + 1}学年第一学期"
        first, last, extra = _national_day(start.year)
        day = first
        while day <= last:
            holidays.append((day, "国庆节"))
            day += dt.timedelta(days=1)
        # The make-up days run the timetable of the last weekdays given off.
        given = [d for d, _ in holidays if d.weekday() < DAYS][-len(extra):]
        for workday, swapped in zip(extra, given, strict=False):
            makeups.append((workday, swapped.isoweekday(), "国庆节调休上课"))
        if start.year == 2026:
            holidays.append((dt.date(2026, 9, 25), "中秋节"))
        holidays.append((dt.date(start.year + 1, 1, 1), "元旦"))
    else:
        name = f"{y - 1}—{y}学年第二学期"
        holidays.append((dt.date(y, 4, 5), "清明节"))
        for i in range(5):
            holidays.append((dt.date(y, 5, 1) + dt.timedelta(days=i), "劳动节"))
    holidays.sort()
    return start, end, name, holidays, makeups
