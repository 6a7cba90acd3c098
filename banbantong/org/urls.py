from django.urls import path

from banbantong.org import import_views, views

app_name = "org"
urlpatterns = [
    path("regions/", views.region_tree, name="region_tree"),
    path("regions/<int:region_id>/", views.region_detail, name="region_detail"),
    path("schools/", views.school_list, name="school_list"),
    path("schools/<int:school_id>/", views.school_detail, name="school_detail"),
    path("schools/<int:school_id>/edit/", views.school_edit, name="school_edit"),
    path("classes/", views.class_list, name="class_list"),
    path("teachers/", views.teacher_list, name="teacher_list"),
    path("survey/import/", import_views.survey_upload, name="survey_upload"),
    path("survey/import/<str:token>/", import_views.survey_preview, name="survey_preview"),
    path("survey/import/<str:token>/errors.xlsx", import_views.survey_errors, name="survey_errors"),
]
