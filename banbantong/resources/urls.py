from django.urls import path

from banbantong.resources import catalogue_views, coverage_views, quota_views, review_views, views

app_name = "resources"
urlpatterns = [
    path("", views.resource_list, name="list"),
    path("upload/", views.upload, name="upload"),
    path("<int:resource_id>/", views.resource_detail, name="detail"),
    path("<int:resource_id>/download", views.download, name="download"),
    path("<int:resource_id>/preview/<int:number>.png", views.preview_page, name="preview_page"),
    path("catalogue/", catalogue_views.catalogue_list, name="catalogue"),
    path("catalogue/<int:volume_id>/", catalogue_views.volume_detail, name="volume"),
    path("catalogue/import/", catalogue_views.catalogue_import, name="catalogue_import"),
    path("catalogue/template.xlsx", catalogue_views.catalogue_template, name="catalogue_template"),
    path("review/", review_views.review_queue, name="review_queue"),
    path("<int:resource_id>/review", review_views.review_decide, name="review"),
    path("<int:resource_id>/resubmit", review_views.resubmit, name="resubmit"),
    path("quotas/", quota_views.quota_list, name="quotas"),
    path("quotas/assign", quota_views.quota_assign, name="quota_assign"),
    path("points/", quota_views.leaderboard, name="leaderboard"),
    path("coverage/", coverage_views.school_coverage, name="coverage"),
    path("coverage/region/", coverage_views.region_gaps, name="coverage_region"),
]
