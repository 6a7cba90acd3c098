"""The device register's Excel import (设备导入): one row per device, matched by serial number.

A new serial registers a device, a known one updates it in place (blank cells keep what is
stored). All or nothing: every bad cell is reported at its Excel row and column, and nothing
is written until the whole sheet is right. The register's rules live in devices.services
(device_problems); the import reads cells, matches names with what the user may see, and
writes through register_device/update_device, so each device is audited like a hand entry.

- cells   — the columns and each cell's value or message (pure);
- service — import_devices: read, check and write, all or nothing.

The upload pages keep the file between preview and confirmation with core.uploads.
"""

from banbantong.devices.importer.cells import HEADERS
from banbantong.devices.importer.service import (
    DevicesInvalid,
    ImportResult,
    check_can_import,
    find_school,
    import_devices,
    template_sheets,
)

__all__ = ["HEADERS", "DevicesInvalid", "ImportResult", "check_can_import", "find_school", "import_devices",
           "template_sheets"]
