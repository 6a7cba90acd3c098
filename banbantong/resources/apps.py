from django.apps import AppConfig


class ResourcesConfig(AppConfig):
    name = "banbantong.resources"
    label = "resources"
    verbose_name = "资源库"
