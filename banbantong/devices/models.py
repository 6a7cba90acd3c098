"""The device register (登记造册), the contact book of vendors and integrators, and repair tickets.

A device lives in a classroom of a school; a ticket is about one device. Integrator companies
have member accounts (role 集成商) who see only tickets escalated to their company, in the
schools assigned to them.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import ExpressionWrapper, F
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from banbantong.core.privacy import mask_phone
from banbantong.core.scope import scope_of


def new_qr_token() -> str:
    # Unguessable: the public fault page is reached by this token alone, without logging in.
    return secrets.token_urlsafe(12)


class Company(models.Model):
    """A vendor, supplier or integrator, with its after-sales contacts (通讯录)."""

    class Kind(models.TextChoices):
        VENDOR = "vendor", _("厂家")
        SUPPLIER = "supplier", _("供货商")
        INTEGRATOR = "integrator", _("集成商")

    region = models.ForeignKey("org.Region", verbose_name=_("登记区域"), on_delete=models.PROTECT, related_name="companies")
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=12, choices=Kind.choices)
    contact_person = models.CharField(_("联系人"), max_length=50, blank=True)
    after_sales_phone = models.CharField(_("售后电话"), max_length=30, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("账号"), blank=True, related_name="companies")

    class Meta:
        verbose_name = _("厂家/集成商")
        verbose_name_plural = _("厂家/集成商")
        ordering = ["kind", "name"]
        constraints = [models.UniqueConstraint(fields=["region", "name"], name="company_unique_name_in_region")]

    def __str__(self) -> str:
        return self.name

    def audit_place(self) -> tuple[str, int | None]:
        return (self.region.path, None)


class DeviceQuerySet(models.QuerySet["Device"]):
    def for_user(self, user: Any) -> DeviceQuerySet:
        return scope_of(user).filter(self, region_path_field="school__region_path", school_field="school_id")


class Device(models.Model):
    class Type(models.TextChoices):
        PROJECTOR = "projector", _("投影仪")
        LCD_TV = "lcd_tv", _("液晶电视")
        FLAT_PANEL = "flat_panel", _("交互式一体机")
        COMPUTER = "computer", _("电脑")
        DVD = "dvd", _("DVD 播放机")
        VISUALISER = "visualiser", _("实物展台")
        SPEAKERS = "speakers", _("音箱/功放")
        SCREEN = "screen", _("投影幕")
        SWITCH = "switch", _("交换机")
        OTHER = "other", _("其他")

    class Status(models.TextChoices):
        IN_USE = "in_use", _("在用")
        REPAIR = "repair", _("维修中")
        SPARE = "spare", _("备用")
        SCRAPPED = "scrapped", _("报废")

    school = models.ForeignKey("org.School", verbose_name=pgettext_lazy("field", "学校"), on_delete=models.PROTECT, related_name="devices")
    classroom = models.ForeignKey(
        "org.Classroom", verbose_name=pgettext_lazy("field", "教室"), null=True, blank=True, on_delete=models.PROTECT, related_name="devices"
    )
    type = models.CharField(_("设备类型"), max_length=12, choices=Type.choices)
    brand = models.CharField(_("品牌"), max_length=60)
    model = models.CharField(_("型号"), max_length=80)
    serial = models.CharField(_("序列号"), max_length=80, unique=True)
    asset_tag = models.CharField(_("资产编号"), max_length=40, unique=True)
    supplier = models.ForeignKey(Company, verbose_name=_("供货商"), null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="supplied_devices")
    integrator = models.ForeignKey(Company, verbose_name=_("集成商"), null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="integrated_devices")
    purchase_date = models.DateField(_("购置日期"), null=True, blank=True)
    price = models.DecimalField(_("价格(元)"), max_digits=10, decimal_places=2, null=True, blank=True)
    warranty_end = models.DateField(_("保修截止"), null=True, blank=True)
    responsible = models.CharField(_("责任人"), max_length=50, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.IN_USE)
    replaces = models.OneToOneField("self", verbose_name=_("替换的旧设备"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="replaced_by")
    qr_token = models.CharField(max_length=32, unique=True, default=new_qr_token, editable=False)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = DeviceQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("field", "设备")
        verbose_name_plural = _("设备")
        ordering = ["school_id", "classroom_id", "type"]
        indexes = [
            models.Index(fields=["school", "status"], name="device_school_status"),
            models.Index(fields=["brand", "model"], name="device_brand_model"),
            # Devices per brand and model within a scope (the figures page): read from the index
            # school by school, never from a province's 600,000 table rows.
            models.Index(fields=["school", "brand", "model"], name="device_school_brand_model"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.brand} {self.model}（{self.asset_tag}）"

    def audit_place(self) -> tuple[str, int | None]:
        return (self.school.region_path, self.school_id)

    def under_warranty(self, on: Any) -> bool:
        return self.warranty_end is not None and on <= self.warranty_end


class DeviceEvent(models.Model):
    """A line of a device's history: registered, moved, status changed, repaired, replaced."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("时间"), auto_now_add=True)
    kind = models.CharField(_("事件"), max_length=30)
    note = models.CharField(_("说明"), max_length=300, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("设备履历")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d} {self.kind}"


class Sla(models.Model):
    """Deadlines per region and priority: hours to respond and to fix."""

    region = models.ForeignKey("org.Region", on_delete=models.CASCADE, related_name="slas")
    priority = models.CharField(_("优先级"), max_length=8)
    respond_hours = models.PositiveIntegerField(_("响应时限(小时)"))
    fix_hours = models.PositiveIntegerField(_("修复时限(小时)"))

    class Meta:
        verbose_name = _("维修时限")
        constraints = [models.UniqueConstraint(fields=["region", "priority"], name="sla_unique_priority")]

    def __str__(self) -> str:
        return f"{self.priority}: {self.respond_hours}h/{self.fix_hours}h"


OPEN_STATES = ("open", "assigned", "in_progress")
# Up to this many schools in scope (a school, a county: ~2 % of a province's tickets) tickets are
# found through the school_id index; more, and the date or league index serves better.
FEW_SCHOOLS = 1000


class TicketQuerySet(models.QuerySet["Ticket"]):
    # Set by count_at_most(): count() then stops after this many rows (see there).
    _count_limit: int | None = None

    def for_user(self, user: Any) -> TicketQuerySet:
        from banbantong.org.models import School

        scope = scope_of(user)
        scoped: TicketQuerySet = self
        if scope.everything:
            pass
        elif not scope.region_paths:
            few = len(scope.school_ids) <= FEW_SCHOOLS
            ids: Any = sorted(scope.school_ids)  # a school's staff
            if scope.school_ids and getattr(user, "role", None) == "integrator":
                # The same schools (User.scope reads them from here) as a subquery, not thousands
                # of literals for Django to bind in every query of the page.
                ids = user.assigned_schools.values("id")
            scoped = self.filter(school_id__in=ids) if few else self._by_date(ids)
        else:
            schools = School.objects.for_user(user).values("id")  # the same scope rule, as a subquery
            few = schools.count() <= FEW_SCHOOLS
            scoped = self.filter(school_id__in=schools) if few else self._by_date(schools)
        # An integrator sees only the tickets escalated to its companies, in its schools.
        if getattr(user, "role", None) == "integrator" and not getattr(user, "is_superuser", False):
            # Its companies (one or two) read first: a literal list lets PostgreSQL take the
            # (escalated_to, state) index, where a subquery led it to a merge over every company.
            companies = list(Company.objects.filter(members=user).values_list("id", flat=True))
            scoped = scoped.filter(escalated_to__in=companies)
        return scoped

    def _by_date(self, schools: Any) -> TicketQuerySet:
        """Many schools (a city, a province): their scope is tested on school_id + 0, which no
        index can serve (SQLite's way to steer its planner), so the database walks the date index
        of a newest-first list, or the league's covering index, and stops after a page, instead
        of gathering every school's tickets through the school_id index to sort them all."""
        plus_zero = ExpressionWrapper(F("school_id") + 0, output_field=models.BigIntegerField())
        return self.alias(_school=plus_zero).filter(**{"_school__in": schools})

    def open(self) -> TicketQuerySet:
        # The open states named (not "not resolved or closed"): an IN the state indexes can serve.
        return self.filter(state__in=OPEN_STATES)

    def count_at_most(self, limit: int) -> TicketQuerySet:
        """A copy whose count() stops at limit + 1 rows: a list page says "2000+" instead of
        counting a province's year of tickets on every page view."""
        clone = self._chain()  # type: ignore[attr-defined]
        clone._count_limit = limit
        return clone

    def count(self) -> int:
        if self._count_limit is None or self.query.is_sliced:
            return super().count()
        # Unordered, so the database may use the most selective index rather than the list's order.
        return self.order_by()[: self._count_limit + 1].count()

    def _clone(self) -> TicketQuerySet:
        clone = super()._clone()  # type: ignore[misc]
        clone._count_limit = self._count_limit
        return clone


class Ticket(models.Model):
    class Fault(models.TextChoices):
        NO_PICTURE = "no_picture", _("无图像/投影不亮")
        NO_SOUND = "no_sound", _("无声音")
        LAMP = "lamp", _("灯泡/光源故障")
        TOUCH = "touch", _("触摸失灵")
        NETWORK = "network", _("不能上网")
        POWER = "power", _("不能开机/电源")
        COMPUTER = "computer", _("电脑死机/系统故障")
        OTHER = "other", _("其他")

    class Priority(models.TextChoices):
        URGENT = "urgent", _("紧急")
        HIGH = "high", _("高")
        NORMAL = "normal", _("一般")
        LOW = "low", _("低")

    class State(models.TextChoices):
        OPEN = "open", _("待受理")
        ASSIGNED = "assigned", _("已指派")
        IN_PROGRESS = "in_progress", _("维修中")
        RESOLVED = "resolved", _("已修复")
        CLOSED = "closed", _("已关闭")

    class Outcome(models.TextChoices):
        REPAIRED = "repaired", _("已修好")
        PART_REPLACED = "part_replaced", _("更换配件")
        DEVICE_REPLACED = "device_replaced", _("更换整机")
        NOT_REPAIRABLE = "not_repairable", _("无法修复")

    class Source(models.TextChoices):
        QR = "qr", _("扫码报修")
        WEB = "web", _("平台填报")
        API = "api", _("接口")

    device = models.ForeignKey(Device, verbose_name=pgettext_lazy("field", "设备"), on_delete=models.PROTECT, related_name="tickets")
    school = models.ForeignKey("org.School", verbose_name=pgettext_lazy("field", "学校"), on_delete=models.PROTECT, related_name="tickets")
    fault = models.CharField(_("故障"), max_length=12, choices=Fault.choices)
    description = models.TextField(_("描述"), blank=True, max_length=1000)
    priority = models.CharField(_("优先级"), max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    state = models.CharField(_("状态"), max_length=12, choices=State.choices, default=State.OPEN)
    source = models.CharField(_("来源"), max_length=4, choices=Source.choices, default=Source.WEB)
    reporter_name = models.CharField(_("报修人"), max_length=50, blank=True)
    reporter_phone = models.CharField(_("报修人电话"), max_length=20, blank=True)
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="reported_tickets")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("处理人"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="assigned_tickets")
    escalated_to = models.ForeignKey(Company, verbose_name=_("转交集成商"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="tickets")
    created_at = models.DateTimeField(_("报修时间"), auto_now_add=True)
    respond_due = models.DateTimeField(_("响应时限"))
    fix_due = models.DateTimeField(_("修复时限"), db_index=True)
    responded_at = models.DateTimeField(_("响应时间"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("修复时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)
    outcome = models.CharField(_("处理结果"), max_length=16, choices=Outcome.choices, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = TicketQuerySet.as_manager()

    AUDIT_MASKED = {"reporter_phone": mask_phone}

    class Meta:
        verbose_name = _("报修单")
        verbose_name_plural = _("报修单")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["school", "state"], name="ticket_school_state"),
            # Open or overdue tickets by state and deadline, with the school so the scope is
            # checked in the index too (open tickets are a few per cent of a year's).
            models.Index(fields=["state", "fix_due", "school"], name="ticket_state_due_school"),
            models.Index(fields=["assignee", "state"], name="ticket_assignee_state"),
            models.Index(fields=["escalated_to", "state"], name="ticket_company_state"),
            # Lists are newest first: (created_at, id) is their order, walked from the end; with a
            # state chosen, (state, created_at, id) gives the same order for that state alone.
            models.Index(fields=["created_at", "id"], name="ticket_created"),
            models.Index(fields=["state", "created_at", "id", "school"], name="ticket_state_created_school"),
            models.Index(fields=["fault", "created_at", "id"], name="ticket_fault_created"),
            # The open tickets alone (a few per cent), newest first: "未完成" and "只看超时" walk it
            # and stop after a page instead of sorting every open ticket with its joins.
            models.Index(fields=["created_at", "id", "school"], name="ticket_open_created",
                         condition=models.Q(state__in=OPEN_STATES)),
            # The league table reads only these columns of escalated tickets: from the index alone.
            models.Index(fields=["escalated_to", "created_at", "resolved_at", "fix_due", "school"],
                         name="ticket_league", condition=models.Q(escalated_to__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"报修单 {self.pk}：{self.get_fault_display()}"

    def audit_place(self) -> tuple[str, int | None]:
        return (self.school.region_path, self.school_id)

    @property
    def reporter_phone_masked(self) -> str:
        return mask_phone(self.reporter_phone)


class TicketComment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    author_name = models.CharField(max_length=50, blank=True)
    at = models.DateTimeField(auto_now_add=True)
    text = models.TextField(_("内容"), max_length=2000, blank=True)
    photo = models.ImageField(_("照片"), upload_to="tickets/%Y/%m/", null=True, blank=True)

    class Meta:
        verbose_name = _("报修记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.at:%Y-%m-%d %H:%M}"
