from django.urls import path

from banbantong.resources import catalogue_views, review_views, views

app_name = "resources"
urlpatterns = [
    path("", views.resource_list, name="list"),
    path("upload/", views.upload, name="upload"),
    path("<int:resource_id>/", views.resource_detail, name="detail"),
    path("<int:resource_id>/download", views.download, name="download"),
    path("catalogue/", catalogue_views.catalogue_list, name="catalogue"),
    path("catalogue/<int:volume_id>/", catalogue_views.volume_detail, name="volume"),
    path("catalogue/import/", catalogue_views.catalogue_import, name="catalogue_import"),
    path("catalogue/template.xlsx", catalogue_views.catalogue_template, name="catalogue_template"),
    path("review/", review_views.review_queue, name="review_queue"),
    path("<int:resource_id>/review", review_views.review_decide, name="review"),
    path("<int:resource_id>/resubmit", review_views.resubmit, name="resubmit"),
]
