"""Usage pages, by subject: records (a teacher's week, calendar, timetables) and dashboards."""

from banbantong.usage.views.dashboards import (
    class_detail,
    compliance_rules,
    dashboard,
    flagged,
    school_dashboard,
    teacher_detail,
)
from banbantong.usage.views.records import calendar, my_week, timetable

__all__ = [
    "calendar", "class_detail", "compliance_rules", "dashboard", "flagged", "my_week", "school_dashboard",
    "teacher_detail", "timetable",
]
