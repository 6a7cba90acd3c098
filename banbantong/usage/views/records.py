"""Usage pages where records and their frame are entered: a teacher's week (fill and confirm
records), the school calendar and timetables."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from banbantong.core.http import AuthedRequest
from banbantong.core.scope import get_for_user, path_ids
from banbantong.core.uploads import pending_file, spreadsheet_suffix, store_pending
from banbantong.org.models import School, TeachingClass
from banbantong.usage import rules, services, timetables
from banbantong.usage.models import CalendarDay, LessonRecord, Semester, TimetableSlot
from banbantong.usage.views.common import WEEKDAYS, region_of, week_of


def _ticked_slots(request: AuthedRequest) -> list[services.SlotEntry]:
    """The slots ticked on the week view, each "class|date|period", with their own topic fields."""
    entries = []
    for raw in request.POST.getlist("slot"):
        klass_id, day, period = raw.split("|")
        klass = get_for_user(TeachingClass.objects.select_related("school"), request.user, pk=int(klass_id))
        entries.append(services.SlotEntry(klass, dt.date.fromisoformat(day), int(period),
                                          request.POST.get(f"topic|{raw}", "")))
    return entries


@login_required
def my_week(request: AuthedRequest) -> HttpResponse:
    """A teacher's timetable for one week with their records: fill a slot, confirm a proposal."""
    teacher = getattr(request.user, "teacher", None)
    if teacher is None:
        raise PermissionDenied(_("只有教师账号有自己的课表和应用记录。"))
    monday = week_of(request, timezone.localdate())
    if request.method == "POST":
        try:
            if "batch" in request.POST:
                made, confirmed = services.record_week(
                    actor=request.user, teacher=teacher, entries=_ticked_slots(request),
                    confirm=[get_for_user(LessonRecord.objects.all(), request.user, pk=int(pk))
                             for pk in request.POST.getlist("confirm_many") if pk.isdigit()],
                    has_plan="has_plan" in request.POST, used_in_class="used_in_class" in request.POST,
                    recorded="recorded" in request.POST, stored="stored" in request.POST,
                )
                messages.success(request, _("已保存 %(made)s 节、确认 %(confirmed)s 节。") % {"made": made, "confirmed": confirmed})
            elif request.POST.get("confirm", "").isdigit():
                record = get_for_user(LessonRecord.objects.all(), request.user, pk=int(request.POST["confirm"]))
                services.confirm_record(record, actor=request.user, topic=request.POST.get("topic", ""))
                messages.success(request, _("已确认。"))
            else:
                klass = get_for_user(TeachingClass.objects.select_related("school"), request.user,
                                     pk=int(request.POST.get("klass") or 0))
                services.record_lesson(
                    actor=request.user, klass=klass, teacher=teacher,
                    date=dt.date.fromisoformat(request.POST.get("date", "")), period=int(request.POST.get("period") or 0),
                    topic=request.POST.get("topic", ""), resources=request.POST.get("resources", ""),
                    has_plan="has_plan" in request.POST, used_in_class="used_in_class" in request.POST,
                    recorded="recorded" in request.POST, stored="stored" in request.POST,
                )
                messages.success(request, _("已保存应用记录。"))
        except (ValidationError, PermissionDenied) as exc:
            for m in getattr(exc, "messages", [str(exc)]):
                messages.error(request, m)
        except ValueError:
            messages.error(request, _("日期或节次不正确。"))
        return redirect(f"{reverse('usage:my_week')}?week={rules.iso_week(monday)}")
    semester = services.semester_for(teacher.school, monday + dt.timedelta(days=2))
    days = [monday + dt.timedelta(days=i) for i in range(7)]
    cal = services.calendar_for(teacher.school, semester) if semester else None
    slots = list(TimetableSlot.objects.filter(teacher=teacher, semester=semester).select_related("klass")) if semester else []
    records = {(r.klass_id, r.date, r.period): r for r in LessonRecord.objects.filter(teacher=teacher, week=monday)}
    rows = []
    periods = sorted({s.period for s in slots}) or list(rules.DEFAULT_PERIOD_TIMES)
    for period in periods:
        cells = []
        for day in days:
            teaching = bool(cal and cal.is_teaching_day(day))
            weekday = cal.timetable_weekday(day) if cal else day.isoweekday()
            slot = next((s for s in slots if s.weekday == weekday and s.period == period), None) if teaching else None
            cell_record = records.get((slot.klass_id, day, period)) if slot else None
            cells.append({"day": day, "slot": slot, "record": cell_record, "teaching": teaching})
        rows.append((period, cells))
    mins = services.week_minimums(teacher.school, monday)
    confirmed = sum(1 for r in records.values() if r.status == LessonRecord.Status.CONFIRMED)
    return render(request, "usage/my_week.html", {
        "teacher": teacher, "monday": monday, "days": [(d, WEEKDAYS[i]) for i, d in enumerate(days)], "rows": rows,
        "week": rules.iso_week(monday), "prev": rules.iso_week(monday - dt.timedelta(weeks=1)),
        "next": rules.iso_week(monday + dt.timedelta(weeks=1)), "minimum": mins.teacher, "confirmed": confirmed,
        "semester": semester, "today": timezone.localdate(),
        "records": sorted(records.values(), key=lambda r: (r.date, r.period)),
    })


@login_required
def calendar(request: AuthedRequest) -> HttpResponse:
    region = region_of(request)
    if request.method == "POST":
        try:
            if request.POST.get("what") == "semester":
                services.add_semester(region, actor=request.user, name=request.POST.get("name", ""),
                                      start=dt.date.fromisoformat(request.POST["start"]),
                                      end=dt.date.fromisoformat(request.POST["end"]))
            else:
                follows = request.POST.get("follows_weekday", "")
                services.add_calendar_day(actor=request.user, region=region,
                                          date=dt.date.fromisoformat(request.POST["date"]),
                                          kind=request.POST.get("kind", ""),
                                          follows_weekday=int(follows) if follows.isdigit() else None,
                                          note=request.POST.get("note", ""))
        except ValidationError as exc:
            for m in exc.messages:
                messages.error(request, m)
        except (KeyError, ValueError):
            messages.error(request, _("日期格式不对，应为 YYYY-MM-DD。"))
        else:
            messages.success(request, _("校历已更新。"))
        return redirect(f"{reverse('usage:calendar')}?region={region.pk}")
    ids = path_ids(region.path)
    return render(request, "usage/calendar.html", {
        "region": region, "semesters": Semester.objects.filter(region_id__in=ids),
        "days": CalendarDay.objects.filter(region_id__in=ids).order_by("-date")[:200],
        "kinds": [(k, v) for k, v in CalendarDay.Kind.choices if k != "day_off"],
        "can_edit": request.user.is_superuser or request.user.role == "bureau_admin",
    })




def _school_for_timetable(request: AuthedRequest) -> School:
    raw = request.GET.get("school") or request.POST.get("school") or ""
    if raw.isdigit():
        return get_for_user(School.objects.all(), request.user, pk=int(raw))
    if request.user.school_id:
        return get_for_user(School.objects.all(), request.user, pk=request.user.school_id)
    raise PermissionDenied(_("请从学校页面进入课表，或指定学校。"))


@login_required
def timetable(request: AuthedRequest) -> HttpResponse:
    """A school's timetables: view a class, import from Excel (preview, then confirm), copy a semester."""
    school = _school_for_timetable(request)
    semester = services.semester_for(school, timezone.localdate())
    semesters = list(Semester.objects.filter(region_id__in=path_ids(school.region_path)))
    preview = None
    if request.method == "POST" and semester is not None:
        try:
            if request.POST.get("action") == "copy":
                source = next((s for s in semesters if str(s.pk) == request.POST.get("source")), None)
                if source is None:
                    raise ValidationError(_("请选择要复制的学期。"))
                n = timetables.copy_timetable(actor=request.user, school=school, source=source, target=semester)
                messages.success(request, _("已从“%(source)s”复制 %(n)s 节课到“%(target)s”。") % {"source": source.name, "n": n, "target": semester.name})
                return redirect(f"{reverse('usage:timetable')}?school={school.pk}")
            if request.POST.get("action") == "confirm":
                path = pending_file("timetables", request.POST.get("token", ""), request.POST.get("suffix", ""))
                if path is None:
                    raise ValidationError(_("上传的文件已过期，请重新上传。"))
                result = timetables.import_timetable(path, actor=request.user, school=school, semester=semester)
                path.unlink(missing_ok=True)
                if result.errors:
                    raise ValidationError(result.errors)
                messages.success(request, _("已导入 %(classes)s 个班级的课表，共 %(slots)s 节。") % {"classes": result.classes, "slots": result.slots})
                return redirect(f"{reverse('usage:timetable')}?school={school.pk}")
            upload = request.FILES.get("file")
            if upload is None:
                raise ValidationError(_("请选择课表 Excel 文件。"))
            timetables.check_can_edit(request.user, school)
            suffix = spreadsheet_suffix(upload)
            token = store_pending("timetables", upload, suffix)
            path = pending_file("timetables", token, suffix)
            if path is None:
                raise ValidationError(_("上传失败，请重试。"))
            result = timetables.import_timetable(path, actor=request.user, school=school, semester=semester, dry_run=True)
            preview = {"result": result, "token": token, "suffix": suffix, "name": upload.name}
        except ValidationError as exc:
            for m in exc.messages[:50]:
                messages.error(request, m)
    classes = list(TeachingClass.objects.filter(school=school).order_by("grade", "name"))
    raw = request.GET.get("klass", "")
    chosen = next((c for c in classes if str(c.pk) == raw), classes[0] if classes else None)
    grid = []
    if chosen is not None and semester is not None:
        slots = {(s.weekday, s.period): s for s in TimetableSlot.objects.filter(klass=chosen, semester=semester).select_related("teacher")}
        periods = sorted({p for _, p in slots}) or list(range(1, 7))
        grid = [(p, [slots.get((d, p)) for d in range(1, 6)]) for p in periods]
    return render(request, "usage/timetable.html", {
        "school": school, "semester": semester, "semesters": [s for s in semesters if semester is None or s.pk != semester.pk],
        "classes": classes, "chosen": chosen, "grid": grid, "preview": preview,
        "can_edit": request.user.is_superuser or request.user.role in {"school_admin", "bureau_admin"},
    })
