from django.apps import AppConfig


class PlanningConfig(AppConfig):
    name = "banbantong.planning"
    label = "planning"
    verbose_name = "建设规划"
