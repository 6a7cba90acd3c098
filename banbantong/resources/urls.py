from django.urls import path

from banbantong.resources import views

app_name = "resources"
urlpatterns = [
    path("", views.resource_list, name="list"),
    path("upload/", views.upload, name="upload"),
    path("<int:resource_id>/", views.resource_detail, name="detail"),
    path("<int:resource_id>/download", views.download, name="download"),
]
