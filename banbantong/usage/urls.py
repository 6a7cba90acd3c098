from django.urls import path

from banbantong.usage import views

app_name = "usage"
urlpatterns = [
    path("my/", views.my_week, name="my_week"),
    path("", views.dashboard, name="dashboard"),
    path("flagged/", views.flagged, name="flagged"),
    path("calendar/", views.calendar, name="calendar"),
    path("timetable/", views.timetable, name="timetable"),
]
