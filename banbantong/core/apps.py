from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "banbantong.core"
    label = "core"
    verbose_name = "核心"
