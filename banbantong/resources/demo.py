"""The demo county's resource library: the example catalogue, a few resources on its lessons.

Called by `org.demo.build_demo` after the registry and activity, in the same transaction. It goes
through the real services (catalogue import, uploads, review), so the audit log, notifications
and points are what the platform would have produced. Kept small: a dozen files of a few KB.
"""

from __future__ import annotations

from banbantong.org.models import Region
from banbantong.resources.catalogue_example import load_example


def build_library(county: Region) -> None:
    load_example(county)
