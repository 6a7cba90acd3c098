"""Writes on devices and tickets. Pages, the public QR page, the import and the API all call these.

Split by subject (register, tickets, sla); the names other modules use are re-exported here, so
`from banbantong.devices import services` then `services.register_device(...)` keeps working.
"""

from banbantong.devices.services.register import (
    BATCH,
    DEVICE_ADMIN_ROLES,
    DeviceInput,
    device_changes,
    device_problems,
    register_device,
    register_devices,
    set_device_status,
    update_device,
    validate_device,
)
from banbantong.devices.services.sla import SlaRow, may_set_sla, set_sla, sla_hours, sla_rows
from banbantong.devices.services.tickets import (
    ASSIGNEE_ROLES,
    MAX_PHOTO_BYTES,
    QR_LIMIT_PER_DEVICE,
    QR_LIMIT_PER_IP,
    QR_WINDOW_SECONDS,
    Conflict,
    add_comment,
    change_ticket,
    escalate,
    find_assignee,
    qr_rate_limited,
    replace_device,
    report_fault,
    report_fault_by_qr,
    ticket_updated,
    validate_photo,
)

__all__ = [
    "ASSIGNEE_ROLES", "BATCH", "DEVICE_ADMIN_ROLES", "MAX_PHOTO_BYTES", "QR_LIMIT_PER_DEVICE", "QR_LIMIT_PER_IP",
    "QR_WINDOW_SECONDS", "Conflict", "DeviceInput", "SlaRow", "add_comment", "change_ticket", "device_changes",
    "device_problems", "escalate", "find_assignee", "may_set_sla", "qr_rate_limited", "register_device",
    "register_devices", "replace_device", "report_fault", "report_fault_by_qr", "set_device_status", "set_sla",
    "sla_hours", "sla_rows", "ticket_updated", "update_device", "validate_device", "validate_photo",
]
