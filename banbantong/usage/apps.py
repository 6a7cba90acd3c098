from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "banbantong.usage"
    label = "usage"
    verbose_name = "应用"
