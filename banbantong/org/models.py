"""The registry: regions, schools, teaching classes, classrooms and teachers.

Regions form a tree stored as a materialized path of ids ("/1/4/17/"); schools copy their
region's path so that scope and roll-ups filter one indexed column instead of walking the tree.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import pgettext_lazy

from banbantong.core.i18n import gettext_lazy_str as _
from banbantong.core.privacy import mask_id_number, mask_phone
from banbantong.core.scope import path_ids, scope_of
from banbantong.org.grades import GRADE_CHOICES, class_label, grade_label


class RegionQuerySet(models.QuerySet["Region"]):
    def for_user(self, user: Any) -> RegionQuerySet:
        # School-level users never browse the region tree: their figures are their school's.
        return scope_of(user).filter(self, region_path_field="path", school_field=None)


class Region(models.Model):
    class Level(models.TextChoices):
        PROVINCE = "province", _("省")
        CITY = "city", _("市")
        COUNTY = "county", _("区县")
        TOWN = "town", _("乡镇")

    LEVEL_ORDER = [Level.PROVINCE, Level.CITY, Level.COUNTY, Level.TOWN]

    name = models.CharField(_("名称"), max_length=60)
    level = models.CharField(_("级别"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    code = models.CharField(_("行政区划代码"), max_length=12, blank=True)
    path = models.CharField(_("路径"), max_length=255, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)

    objects = RegionQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("field", "区域")
        verbose_name_plural = _("区域")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="region_unique_name_under_parent"),
            models.UniqueConstraint(
                fields=["name"], condition=models.Q(parent__isnull=True), name="region_unique_top_level_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def audit_place(self) -> tuple[str, int | None]:
        return (self.path, None)

    def ancestors(self) -> RegionQuerySet:
        ids = path_ids(self.path)
        return Region.objects.filter(id__in=ids).order_by("depth")

    @property
    def full_name(self) -> str:
        return "".join(r.name for r in self.ancestors())


class SchoolQuerySet(models.QuerySet["School"]):
    def for_user(self, user: Any) -> SchoolQuerySet:
        return scope_of(user).filter(self, region_path_field="region_path", school_field="id")


class School(models.Model):
    class Kind(models.TextChoices):
        TEACHING_POINT = "teaching_point", _("教学点")
        VILLAGE_PRIMARY = "village_primary", _("村小")
        CENTRAL_PRIMARY = "central_primary", _("中心小学")
        RURAL_JUNIOR = "rural_junior", _("农村初中")
        NINE_YEAR = "nine_year", _("九年一贯制学校")
        URBAN_PRIMARY = "urban_primary", _("城区/县城小学")
        URBAN_JUNIOR = "urban_junior", _("城区/县城初中")
        URBAN_SENIOR = "urban_senior", _("城区/县城高中")
        CITY_DIRECT = "city_direct", _("市直学校")

    RURAL_KINDS = frozenset({Kind.TEACHING_POINT, Kind.VILLAGE_PRIMARY, Kind.CENTRAL_PRIMARY, Kind.RURAL_JUNIOR})

    region = models.ForeignKey(Region, verbose_name=_("所属区域"), on_delete=models.PROTECT, related_name="schools")
    region_path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    name = models.CharField(_("学校名称"), max_length=100)
    code = models.CharField(_("学校代码"), max_length=20, blank=True)
    kind = models.CharField(_("学校类型"), max_length=20, choices=Kind.choices)
    is_rural = models.BooleanField(_("农村学校"), default=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    principal = models.CharField(_("校长(第一责任人)"), max_length=50, blank=True)
    has_fibre = models.BooleanField(_("光纤接入"), default=False)
    bandwidth_mbps = models.PositiveIntegerField(_("出口带宽(Mbps)"), default=0)
    has_campus_lan = models.BooleanField(_("校园网"), default=False)
    has_firewall = models.BooleanField(_("防火墙"), default=False)
    # Roll-ups of the school's classes, kept current by org.services.refresh_school_counts so a
    # province dashboard sums 15,000 school rows instead of scanning 150,000 classes.
    class_count = models.PositiveIntegerField(_("教学班数"), default=0, editable=False)
    built_count = models.PositiveIntegerField(_("已建班数"), default=0, editable=False)
    pupil_count = models.PositiveIntegerField(_("学生数"), default=0, editable=False)
    # Teachers too, for the weekly compliance check's "teachers checked" (a province has ~400,000
    # teachers). Any service that adds or removes teachers calls refresh_school_counts as well.
    teacher_count = models.PositiveIntegerField(_("教师数"), default=0, editable=False)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = SchoolQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("field", "学校")
        verbose_name_plural = _("学校")
        ordering = ["region_path", "name"]
        constraints = [models.UniqueConstraint(fields=["region", "name"], name="school_unique_name_in_region")]
        # Covering for the roll-up sums of a region (a province reads 15,000 index entries, no rows)
        # and for its schools' rows with their names (coverage by school, the export).
        indexes = [models.Index(fields=["region_path", "built_count", "teacher_count", "class_count", "name", "id"],
                                name="school_path_rollups_named")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.region_path = self.region.path
        super().save(*args, **kwargs)

    def audit_place(self) -> tuple[str, int | None]:
        return (self.region_path, self.pk)


class ClassQuerySet(models.QuerySet["TeachingClass"]):
    def for_user(self, user: Any) -> ClassQuerySet:
        return scope_of(user).filter(self, region_path_field="school__region_path", school_field="school_id")

    def built(self) -> ClassQuerySet:
        return self.filter(status__in=TeachingClass.BUILT_STATUSES)


class TeachingClass(models.Model):
    class Status(models.TextChoices):
        NOT_BUILT = "not_built", _("未建")
        PLANNED = "planned", _("已规划")
        BUILDING = "building", _("在建")
        BUILT = "built", _("已建")
        ACCEPTED = "accepted", _("已验收")

    BUILT_STATUSES = (Status.BUILT, Status.ACCEPTED)

    school = models.ForeignKey(School, verbose_name=pgettext_lazy("field", "学校"), on_delete=models.PROTECT, related_name="classes")
    grade = models.PositiveSmallIntegerField(_("年级"), choices=GRADE_CHOICES)
    name = models.CharField(_("班级"), max_length=40)
    pupils = models.PositiveIntegerField(_("学生数"), default=0)
    mode = models.ForeignKey(
        "planning.TerminalMode", verbose_name=_("班班通模式"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="classes",
    )
    status = models.CharField(_("建设状态"), max_length=12, choices=Status.choices, default=Status.NOT_BUILT)
    status_changed_on = models.DateField(_("状态变更日期"), null=True, blank=True)
    built_year = models.PositiveSmallIntegerField(_("建成年份"), null=True, blank=True)
    planned_year = models.PositiveSmallIntegerField(_("计划建设年份"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ClassQuerySet.as_manager()

    class Meta:
        verbose_name = _("教学班")
        verbose_name_plural = _("教学班")
        ordering = ["school_id", "grade", "name"]
        constraints = [
            models.UniqueConstraint(fields=["school", "grade", "name"], name="class_unique_in_school"),
        ]
        indexes = [models.Index(fields=["status", "school"], name="class_status_school")]

    def __str__(self) -> str:
        return f"{self.school.name} {self.grade_label}{self.name}"

    @property
    def grade_label(self) -> str:
        return grade_label(self.grade)

    @property
    def label(self) -> str:
        """Grade and name, as people say it (四年级1班)."""
        return class_label(self.grade, self.name)

    @property
    def is_built(self) -> bool:
        return self.status in self.BUILT_STATUSES

    def audit_place(self) -> tuple[str, int | None]:
        return (self.school.region_path, self.school_id)


class ClassStatusChange(models.Model):
    """Dated history of a class's Banbantong status, so coverage can be told as of any date.

    The fields after `recorded_at` copy the class's school, current mode, and the school's
    region path, kind and rural flag, and say whether the change entered (+1) or left (-1)
    已建/已验收. Coverage as of a date then sums them, by place, mode and kind, into month-end
    roll-ups (`ClassHistoryMonth`) and reads at most a month of them from one partial covering
    index, joining no class or school. They are written only by
    `org.services.refresh_school_counts`, which every writer of history calls afterwards (as it
    does for the other roll-ups): a class's mode can change, and raw writers insert rows
    without them.
    """

    klass = models.ForeignKey(TeachingClass, on_delete=models.CASCADE, related_name="status_changes")
    old_status = models.CharField(_("原状态"), max_length=12, choices=TeachingClass.Status.choices, blank=True)
    new_status = models.CharField(_("新状态"), max_length=12, choices=TeachingClass.Status.choices)
    changed_on = models.DateField(_("变更日期"), db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)
    school = models.ForeignKey(School, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                               editable=False)
    mode = models.ForeignKey("planning.TerminalMode", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", editable=False)
    region_path = models.CharField(max_length=255, default="", editable=False)
    kind = models.CharField(max_length=20, choices=School.Kind.choices, blank=True, editable=False)
    is_rural = models.BooleanField(default=False, editable=False)
    built_delta = models.SmallIntegerField(_("已建变化"), default=0, editable=False)

    class Meta:
        verbose_name = _("建设状态变更")
        ordering = ["changed_on", "id"]
        indexes = [
            # Coverage as of a date: the changes in a date range (at most a month, beside the
            # month-end roll-ups of org.history_months) that entered or left "built", read from
            # the index alone by date, with their place, mode, kind and school.
            models.Index(
                fields=["changed_on", "region_path", "mode", "kind", "is_rural", "school", "built_delta"],
                condition=~models.Q(built_delta=0), name="status_change_built_by_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.changed_on} {self.get_old_status_display()} → {self.get_new_status_display()}"


class ClassRollup(models.Model):
    """A school's classes of one terminal mode, counted by status (a roll-up, never edited).

    Kept by `org.services.refresh_school_counts` in the transaction of every write that adds
    classes or changes their status or mode. Coverage of a province reads ~20,000 of these rows
    from one covering index instead of grouping 150,000 classes; the school's region path, kind
    and rural flag are copied so that no join is needed.
    """

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="class_rollups")
    mode = models.ForeignKey("planning.TerminalMode", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")
    region_path = models.CharField(max_length=255)
    kind = models.CharField(max_length=20, choices=School.Kind.choices)
    is_rural = models.BooleanField()
    classes = models.PositiveIntegerField(default=0)
    built = models.PositiveIntegerField(_("已建(含已验收)"), default=0)
    accepted = models.PositiveIntegerField(_("已验收"), default=0)
    planned = models.PositiveIntegerField(_("已规划"), default=0)
    building = models.PositiveIntegerField(_("在建"), default=0)

    class Meta:
        verbose_name = _("教学班统计")
        indexes = [
            # Coverage sums by (place, mode, kind, rural) straight off this index, in its order.
            models.Index(
                fields=["region_path", "mode", "kind", "is_rural", "classes", "built", "school"],
                name="class_rollup_by_place",
            ),
            models.Index(fields=["school"], name="class_rollup_school"),
        ]

    def __str__(self) -> str:
        return f"{self.school_id}/{self.mode_id}: {self.built}/{self.classes}"


class ClassHistoryMonth(models.Model):
    """A school's net classes of one mode that entered 已建/已验收 after a month end (a roll-up of
    `ClassStatusChange`, never edited), for the month ends in `ClassHistoryMonthKept`: coverage as
    of a past date reads one of these per school and mode instead of all the history after the
    date. See `org.history_months`."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    mode = models.ForeignKey("planning.TerminalMode", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")  # as on the history it sums
    month = models.DateField()  # the month's last day
    # The school's, copied as on ClassStatusChange: read by place, mode and kind with no join.
    region_path = models.CharField(max_length=255)
    kind = models.CharField(max_length=20, choices=School.Kind.choices)
    is_rural = models.BooleanField()
    built_after = models.IntegerField()

    class Meta:
        verbose_name = _("月末建设状态统计")
        # A region's rows of one month in coverage's group order, from the index alone.
        indexes = [models.Index(fields=["month", "region_path", "mode", "kind", "is_rural", "school", "built_after"],
                                name="class_history_month_read")]

    def __str__(self) -> str:
        return f"{self.school_id}/{self.mode_id} {self.month}: {self.built_after:+d}"


class ClassHistoryMonthKept(models.Model):
    """A month end whose `ClassHistoryMonth` rows are written (someone asked about it)."""

    month = models.DateField(unique=True)

    def __str__(self) -> str:
        return str(self.month)


class ClassroomQuerySet(models.QuerySet["Classroom"]):
    def for_user(self, user: Any) -> ClassroomQuerySet:
        return scope_of(user).filter(self, region_path_field="school__region_path", school_field="school_id")


class Classroom(models.Model):
    school = models.ForeignKey(School, verbose_name=pgettext_lazy("field", "学校"), on_delete=models.PROTECT, related_name="classrooms")
    name = models.CharField(pgettext_lazy("field", "教室"), max_length=60)
    building = models.CharField(_("楼栋"), max_length=60, blank=True)
    teaching_class = models.OneToOneField(
        TeachingClass, verbose_name=_("使用班级"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="classroom",
    )

    objects = ClassroomQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("field", "教室")
        verbose_name_plural = _("教室")
        ordering = ["school_id", "building", "name"]
        constraints = [models.UniqueConstraint(fields=["school", "building", "name"], name="classroom_unique")]

    def __str__(self) -> str:
        return f"{self.building}{self.name}"

    def audit_place(self) -> tuple[str, int | None]:
        return (self.school.region_path, self.school_id)


class TeacherQuerySet(models.QuerySet["Teacher"]):
    def for_user(self, user: Any) -> TeacherQuerySet:
        return scope_of(user).filter(self, region_path_field="school__region_path", school_field="school_id")


class Teacher(models.Model):
    class Gender(models.TextChoices):
        MALE = "m", _("男")
        FEMALE = "f", _("女")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("账号"), on_delete=models.PROTECT, related_name="teacher"
    )
    school = models.ForeignKey(School, verbose_name=pgettext_lazy("field", "学校"), on_delete=models.PROTECT, related_name="teachers")
    name = models.CharField(_("姓名"), max_length=50)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices, blank=True)
    subject = models.CharField(_("任教学科"), max_length=30, blank=True)
    title = models.CharField(_("职称"), max_length=30, blank=True)
    phone = models.CharField(_("手机"), max_length=20, blank=True)
    id_number = models.CharField(_("身份证号"), max_length=18, blank=True)

    objects = TeacherQuerySet.as_manager()

    AUDIT_MASKED = {"phone": mask_phone, "id_number": mask_id_number}

    class Meta:
        verbose_name = pgettext_lazy("field", "教师")
        verbose_name_plural = _("教师")
        ordering = ["school_id", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    def audit_place(self) -> tuple[str, int | None]:
        return (self.school.region_path, self.school_id)
