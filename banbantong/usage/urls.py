from django.urls import path

from banbantong.usage import views

app_name = "usage"
urlpatterns = [
    path("my/", views.my_week, name="my_week"),
    path("", views.dashboard, name="dashboard"),
    path("school/<int:school_id>/", views.school_dashboard, name="school"),
    path("class/<int:class_id>/", views.class_detail, name="class"),
    path("teacher/<int:teacher_id>/", views.teacher_detail, name="teacher"),
    path("flagged/", views.flagged, name="flagged"),
    path("rules/", views.compliance_rules, name="rules"),
    path("calendar/", views.calendar, name="calendar"),
    path("timetable/", views.timetable, name="timetable"),
]
