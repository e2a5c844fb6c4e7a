"""Folders through Beam's FileSystems, the same on local disks and object stores (which have no
folders, only names with a common prefix)."""

from __future__ import annotations

from apache_beam.io.filesystems import FileSystems

__all__ = ["matching_paths", "delete_folder"]


def matching_paths(pattern: str) -> list[str]:
    """The paths of the files `pattern` matches (`**` crosses folders); none is not an error."""
    return [m.path for m in FileSystems.match([pattern])[0].metadata_list]


def delete_folder(folder: str) -> None:
    """`folder` with everything under it gone; nothing to delete is not an error."""
    files = matching_paths(folder.rstrip("/") + "/**")
    if files:
        FileSystems.delete(files)
    if FileSystems.exists(folder):
        FileSystems.delete([folder])
