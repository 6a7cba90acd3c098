from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "banbantong.devices"
    label = "devices"
    verbose_name = "设备与报修"
