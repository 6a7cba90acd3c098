from django.urls import path

from banbantong.devices import views

app_name = "devices"
urlpatterns = [
    path("", views.device_list, name="list"),
    path("new/", views.device_new, name="new"),
    path("<int:device_id>/", views.device_detail, name="detail"),
    path("labels.pdf", views.labels, name="labels"),
    path("tickets/", views.ticket_list, name="tickets"),
    path("tickets/<int:ticket_id>/", views.ticket_detail, name="ticket"),
    path("my/", views.my_work, name="my_work"),
    path("figures/", views.figures, name="figures"),
    path("figures/league/", views.league, name="league"),
    path("companies/", views.companies, name="companies"),
    path("r/<str:token>/", views.report, name="report"),
    path("import/", views.device_import, name="import"),
    path("import/template.xlsx", views.device_import_template, name="import_template"),
    path("import/<str:token>/", views.device_import_preview, name="import_preview"),
    path("sla/", views.sla_settings, name="sla"),
]
