from django.urls import include, path
from django.views.i18n import set_language

from banbantong.api import api

urlpatterns = [
    path("", include("banbantong.core.urls")),
    path("accounts/", include("banbantong.accounts.urls")),
    path("org/", include("banbantong.org.urls")),
    path("planning/", include("banbantong.planning.urls")),
    path("devices/", include("banbantong.devices.urls")),
    path("usage/", include("banbantong.usage.urls")),
    path("resources/", include("banbantong.resources.urls")),
    path("search/", include("banbantong.search.urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("api/v1/", api.urls),
]

handler404 = "banbantong.core.views.not_found"
handler403 = "banbantong.core.views.forbidden"
