from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "banbantong.org"
    label = "org"
    verbose_name = "基础档案"
