"""Models of the resource library, one module per part: stored files and resources (`library`),
the curriculum catalogue (`catalogue`), quotas and points (`quotas`)."""

from banbantong.resources.models.catalogue import Edition, Lesson, Unit, Volume
from banbantong.resources.models.library import (
    Blob,
    Resource,
    ResourceQuerySet,
    UploadSession,
    ancestor_paths,
    paths_above,
)
from banbantong.resources.models.quotas import PointEntry, Quota

__all__ = [
    "Blob", "Edition", "Lesson", "PointEntry", "Quota", "Resource", "ResourceQuerySet", "Unit",
    "UploadSession", "Volume", "ancestor_paths", "paths_above",
]
