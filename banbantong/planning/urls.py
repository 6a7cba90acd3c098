from django.urls import path

from banbantong.planning import mode_views, views

app_name = "planning"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("coverage/", views.coverage_page, name="coverage"),
    path("targets/", views.targets_page, name="targets"),
    path("scenarios/", views.scenarios, name="scenarios"),
    path("scenarios/compare/", views.scenario_compare, name="scenario_compare"),
    path("scenarios/<int:scenario_id>/", views.scenario_detail, name="scenario_detail"),
    path("scenarios/<int:scenario_id>/adopt/", views.scenario_adopt, name="scenario_adopt"),
    path("budget/", views.budget_page, name="budget"),
    path("modes/", mode_views.modes_page, name="modes"),
    path("modes/<slug:code>/", mode_views.mode_edit, name="mode_edit"),
    path("bulk-status/", views.bulk_status, name="bulk_status"),
    path("mode-rule/", mode_views.mode_rule, name="mode_rule"),
    path("suggested-modes/", mode_views.suggested_modes, name="suggested_modes"),
    path("briefing.pdf", views.briefing, name="briefing"),
]
