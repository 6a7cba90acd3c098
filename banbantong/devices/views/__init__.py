"""Devices and the repair desk: register, labels, the public QR page, tickets, my work, figures.

Pages by subject in the modules of this package; urls.py names them through this module.
"""

from banbantong.devices.views.figures import figures, league
from banbantong.devices.views.imports import device_import, device_import_preview, device_import_template
from banbantong.devices.views.registry import (
    companies,
    device_detail,
    device_list,
    device_new,
    labels,
    report,
)
from banbantong.devices.views.sla import sla_settings
from banbantong.devices.views.tickets import my_work, ticket_detail, ticket_list

__all__ = [
    "companies", "device_detail", "device_import", "device_import_preview", "device_import_template", "device_list",
    "device_new", "figures", "labels", "league", "my_work", "report", "sla_settings", "ticket_detail", "ticket_list",
]
