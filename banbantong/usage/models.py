"""Usage: the school calendar, timetables, lesson records (记录单) with their evidence, classroom
events from terminals, and the weekly roll-ups the compliance dashboards read.

Roll-ups (ClassWeek, TeacherWeek, SchoolWeek, PlaceWeek, TeacherSemester) are kept current by the services
as records are confirmed or removed, so a dashboard never scans the history.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from banbantong.core.scope import scope_of


class Semester(models.Model):
    region = models.ForeignKey("org.Region", verbose_name=pgettext_lazy("field", "区域"), on_delete=models.CASCADE, related_name="semesters")
    name = models.CharField(_("学期"), max_length=40)
    start = models.DateField(_("开学日期"))
    end = models.DateField(_("结束日期"))

    class Meta:
        verbose_name = _("学期")
        ordering = ["-start"]
        constraints = [models.UniqueConstraint(fields=["region", "name"], name="semester_unique_name")]

    def __str__(self) -> str:
        return self.name

    def audit_place(self) -> tuple[str, int | None]:
        return (self.region.path, None)


class CalendarDay(models.Model):
    """A holiday, a make-up workday (调休) or a school's own day off."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("放假")
        MAKEUP = "makeup", _("调休上课")
        DAY_OFF = "day_off", _("学校停课")

    region = models.ForeignKey("org.Region", null=True, blank=True, on_delete=models.CASCADE, related_name="calendar_days")
    school = models.ForeignKey("org.School", null=True, blank=True, on_delete=models.CASCADE, related_name="calendar_days")
    date = models.DateField(_("日期"), db_index=True)
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    follows_weekday = models.PositiveSmallIntegerField(_("按星期几课表"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("校历日")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"


class TimetableSlot(models.Model):
    klass = models.ForeignKey("org.TeachingClass", on_delete=models.CASCADE, related_name="timetable")
    semester = models.ForeignKey(Semester, on_delete=models.CASCADE, related_name="slots")
    weekday = models.PositiveSmallIntegerField(_("星期"))  # 1 = Monday
    period = models.PositiveSmallIntegerField(_("节次"))
    subject = models.CharField(_("学科"), max_length=20)
    teacher = models.ForeignKey("org.Teacher", null=True, blank=True, on_delete=models.SET_NULL, related_name="slots")

    class Meta:
        verbose_name = _("课表")
        ordering = ["weekday", "period"]
        constraints = [
            models.UniqueConstraint(fields=["klass", "semester", "weekday", "period"], name="slot_unique"),
        ]
        indexes = [models.Index(fields=["teacher", "semester"], name="slot_teacher")]

    def __str__(self) -> str:
        return f"周{self.weekday}第{self.period}节 {self.subject}"


class RecordQuerySet(models.QuerySet["LessonRecord"]):
    def for_user(self, user: Any) -> RecordQuerySet:
        scoped = scope_of(user).filter(self, region_path_field="school__region_path", school_field="school_id")
        # A teacher reads and writes their own records only.
        if getattr(user, "role", None) == "teacher" and not getattr(user, "is_superuser", False):
            scoped = scoped.filter(teacher__user=user)
        return scoped


class LessonRecord(models.Model):
    class Evidence(models.TextChoices):
        EVENTS = "events", _("终端记录佐证")
        MANUAL = "manual", _("手工填写")

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("待确认")
        CONFIRMED = "confirmed", _("已确认")

    klass = models.ForeignKey("org.TeachingClass", verbose_name=_("班级"), on_delete=models.CASCADE, related_name="lessons")
    school = models.ForeignKey("org.School", on_delete=models.CASCADE, related_name="+")
    teacher = models.ForeignKey("org.Teacher", verbose_name=pgettext_lazy("field", "教师"), on_delete=models.CASCADE, related_name="lessons")
    semester = models.ForeignKey(Semester, on_delete=models.PROTECT, related_name="lessons")
    date = models.DateField(_("日期"))
    week = models.DateField(pgettext_lazy("field", "周一"), db_index=True)
    period = models.PositiveSmallIntegerField(_("节次"))
    subject = models.CharField(_("学科"), max_length=20)
    topic = models.CharField(_("课题"), max_length=100, blank=True)
    resources = models.CharField(_("使用资源"), max_length=300, blank=True)
    has_plan = models.BooleanField(_("教案上有体现"), default=False)
    used_in_class = models.BooleanField(_("课堂上有应用"), default=True)
    recorded = models.BooleanField(_("记录单上有记载"), default=True)
    stored = models.BooleanField(_("多媒体电脑上有存储"), default=False)
    evidence = models.CharField(_("佐证"), max_length=8, choices=Evidence.choices, default=Evidence.MANUAL)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.CONFIRMED)
    flags = models.JSONField(_("疑点"), default=list, blank=True)
    evidence_minutes = models.PositiveSmallIntegerField(_("终端开机分钟"), default=0)
    created_at = models.DateTimeField(_("填写时间"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = RecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("应用记录")
        verbose_name_plural = _("应用记录")
        ordering = ["-date", "period"]
        constraints = [models.UniqueConstraint(fields=["klass", "date", "period"], name="record_unique_slot")]
        indexes = [
            models.Index(fields=["teacher", "date", "period"], name="record_teacher_slot"),
            models.Index(fields=["school", "week"], name="record_school_week"),
        ]

    def __str__(self) -> str:
        return f"{self.date} 第{self.period}节 {self.subject}"

    def audit_place(self) -> tuple[str, int | None]:
        return (self.school.region_path, self.school_id)

    @property
    def flag_labels(self) -> list[str]:
        from banbantong.usage.rules import Flag

        return [gettext(Flag.LABELS[f]) if f in Flag.LABELS else f for f in self.flags]


class ClassWeek(models.Model):
    klass = models.ForeignKey("org.TeachingClass", on_delete=models.CASCADE, related_name="+")
    school = models.ForeignKey("org.School", on_delete=models.CASCADE, related_name="+")
    week = models.DateField()
    lessons = models.PositiveIntegerField(default=0)
    minimum = models.PositiveSmallIntegerField(default=0)
    compliant = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["klass", "week"], name="classweek_unique")]
        indexes = [models.Index(fields=["week", "school"], name="classweek_week_school")]

    def __str__(self) -> str:
        return f"{self.klass_id} {self.week}: {self.lessons}"


class TeacherWeek(models.Model):
    teacher = models.ForeignKey("org.Teacher", on_delete=models.CASCADE, related_name="+")
    school = models.ForeignKey("org.School", on_delete=models.CASCADE, related_name="+")
    week = models.DateField()
    lessons = models.PositiveIntegerField(default=0)
    minimum = models.PositiveSmallIntegerField(default=0)
    compliant = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["teacher", "week"], name="teacherweek_unique")]
        indexes = [models.Index(fields=["week", "school"], name="teacherweek_week_school")]

    def __str__(self) -> str:
        return f"{self.teacher_id} {self.week}: {self.lessons}"


class SchoolWeek(models.Model):
    """Per school and week: how many of its classes and teachers met the weekly minimum."""

    school = models.ForeignKey("org.School", on_delete=models.CASCADE, related_name="usage_weeks")
    region_path = models.CharField(max_length=255)
    week = models.DateField()
    lessons = models.PositiveIntegerField(default=0)
    compliant_classes = models.PositiveIntegerField(default=0)
    compliant_teachers = models.PositiveIntegerField(default=0)
    flagged = models.PositiveIntegerField(default=0)
    # Was the school a Banbantong school (any built class) that week? Only those schools' classes
    # and teachers are checked weekly. Set by every roll-up write and, for the current week on,
    # when the school's status flips (org.signals.banbantong_status_changed), so that dashboards
    # never join the schools table.
    bbt = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school", "week"], name="schoolweek_unique")]
        # Covering: a region's week (or weeks, for the trend) is read from the index alone.
        indexes = [models.Index(
            fields=["week", "region_path", "bbt", "school", "compliant_classes", "compliant_teachers", "lessons",
                    "flagged"],
            name="schoolweek_week_path_bbt",
        )]

    def __str__(self) -> str:
        return f"{self.school_id} {self.week}"


class PlaceWeek(models.Model):
    """Per region path and week: the sums of the SchoolWeek rows of the schools whose own region
    is that path (not the schools of regions below it).

    A province has ~15,000 schools but ~1,500 such places, so its week, its trend and its child
    regions read a tenth of the rows, and the short lists find the first places with someone
    short without reading every school. Only Banbantong schools' compliant counts are summed
    (SchoolWeek.bbt), lessons and flagged records of all. Moved by the same services, in the same
    transaction, as the SchoolWeek rows it sums (by F() deltas, so concurrent writers add up).
    """

    region_path = models.CharField(max_length=255)
    week = models.DateField()
    lessons = models.PositiveIntegerField(default=0)
    compliant_classes = models.PositiveIntegerField(default=0)
    compliant_teachers = models.PositiveIntegerField(default=0)
    flagged = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["week", "region_path"], name="placeweek_unique")]
        # Covering: a region's week (or weeks) is read from the index alone, a subtree being a
        # range of region_path under each week.
        indexes = [models.Index(
            fields=["week", "region_path", "compliant_classes", "compliant_teachers", "lessons", "flagged"],
            name="placeweek_covering",
        )]

    def __str__(self) -> str:
        return f"{self.region_path} {self.week}"


class TeacherSemester(models.Model):
    teacher = models.ForeignKey("org.Teacher", on_delete=models.CASCADE, related_name="+")
    # The teacher's school, copied so that a region's semester count reads the index of its
    # schools instead of joining every teacher of the semester.
    school = models.ForeignKey("org.School", on_delete=models.CASCADE, related_name="+")
    semester = models.ForeignKey(Semester, on_delete=models.CASCADE, related_name="+")
    lessons = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["teacher", "semester"], name="teachersemester_unique")]
        indexes = [models.Index(fields=["semester", "school", "lessons"], name="teachersemester_school")]

    def __str__(self) -> str:
        return f"{self.teacher_id} {self.semester_id}: {self.lessons}"


class ComplianceRule(models.Model):
    """A region's weekly minimums; a region without one inherits its parent's, else the seeds'."""

    region = models.OneToOneField("org.Region", on_delete=models.CASCADE, related_name="compliance_rule")
    class_min_per_week = models.PositiveSmallIntegerField(_("班班通班级每周至少"), default=10)
    teacher_min_per_week = models.PositiveSmallIntegerField(_("教师每周至少"), default=2)
    teacher_non_bbt_min_per_semester = models.PositiveSmallIntegerField(_("未实施学校教师每学期至少"), default=5)

    class Meta:
        verbose_name = _("应用要求")

    def __str__(self) -> str:
        return f"{self.class_min_per_week}/{self.teacher_min_per_week}/{self.teacher_non_bbt_min_per_semester}"


class EventBatch(models.Model):
    """One batch of classroom events, by its idempotency key: a retry returns the stored result."""

    key = models.CharField(max_length=80, unique=True)
    body_sha256 = models.CharField(max_length=64)
    classroom = models.ForeignKey("org.Classroom", on_delete=models.CASCADE, related_name="+")
    received_at = models.DateTimeField(auto_now_add=True)
    result = models.JSONField(default=dict)

    def __str__(self) -> str:
        return self.key


class TerminalEvent(models.Model):
    class Kind(models.TextChoices):
        POWER_ON = "power_on", _("开机")
        POWER_OFF = "power_off", _("关机")
        RESOURCE_OPENED = "resource_opened", _("打开资源")

    classroom = models.ForeignKey("org.Classroom", on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    at = models.DateTimeField()
    resource = models.CharField(max_length=300, blank=True)
    batch = models.ForeignKey(EventBatch, on_delete=models.CASCADE, related_name="events")

    class Meta:
        constraints = [
            # The same event sent in two batches (a retry with a new key) is still counted once.
            models.UniqueConstraint(fields=["classroom", "kind", "at", "resource"], name="event_unique"),
        ]
        indexes = [models.Index(fields=["classroom", "at"], name="event_room_time")]

    def __str__(self) -> str:
        return f"{self.classroom_id} {self.kind} {self.at}"
