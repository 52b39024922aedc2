"""The rows of ``docker images`` (and of ``system df -v``): docker's ``formatter.imageContext``.

An image with several tags gives a row per tag; with ``--digests`` (or a format naming
``{{.Digest}}``) a row per tag and digest; a digest-only reference its own row with tag
``<none>``; an image without any reference one ``<none> <none>`` row. References are read
without ``re`` (the daemon sends valid ones; anything else is skipped as docker skips what
it cannot parse).
"""

from __future__ import annotations

from dockyard.cli import tables
from dockyard.cli.rowcontext import RowContext

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_TABLE = ("table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}"
                 "\t{{.Size}}")
DEFAULT_TABLE_DIGEST = ("table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t"
                        "{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}")
QUIET = "{{.ID}}"
RAW = ("repository: {{ .Repository }}\ntag: {{.Tag}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\n"
       "virtual_size: {{.Size}}\n")
RAW_DIGEST = ("repository: {{ .Repository }}\ntag: {{.Tag}}\ndigest: {{.Digest}}\nimage_id: {{.ID}}\n"
              "created_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n")
_REF_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:@+")


def image_format(source: str, quiet: bool, digest: bool) -> str:
    """docker's NewImageFormat: the format ``--format``/``-q``/``--digests`` select."""
    if source == "table":
        return QUIET if quiet else DEFAULT_TABLE_DIGEST if digest else DEFAULT_TABLE
    if source == "raw":
        return "image_id: {{.ID}}" if quiet else RAW_DIGEST if digest else RAW
    if source.startswith("table") and digest and "{{.Digest}}" not in source:
        return source + "\t{{.Digest}}"
    return source


def split_reference(ref: str) -> tuple[str, str, str] | None:
    """``(familiar name, tag, digest)`` of a reference the daemon sent; None if it is not one."""
    if not ref or not _REF_CHARS.issuperset(ref):
        return None
    name, _, digest = ref.partition("@")
    tag = ""
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
    if not name or (digest and ":" not in digest):
        return None
    first, sep, rest = name.partition("/")
    if not sep:
        return name, tag, digest
    if first in ("docker.io", "index.docker.io"):
        name = rest[len("library/"):] if rest.startswith("library/") and "/" not in rest[len("library/"):] else rest
    return name, tag, digest


def is_dangling(image: dict[str, Any]) -> bool:
    tags, digests = image.get("RepoTags") or [], image.get("RepoDigests") or []
    if not tags and not digests:
        return True
    return tags == ["<none>:<none>"] and digests == ["<none>@<none>"]


class ImageRow(RowContext):
    """One row: an image under one repository, tag and digest."""

    GO_TYPE = "*formatter.imageContext"
    HEADER = {"ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
              "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE", "Containers": "CONTAINERS",
              "VirtualSize": "SIZE", "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE"}

    def __init__(self, image: dict[str, Any], repo: str, tag: str, digest: str, trunc: bool = True,
                 now: float | None = None) -> None:
        self.image = image
        self.repo = repo
        self.tag = tag
        self.digest = digest
        self.trunc = trunc
        self.now = now

    def _int(self, key: str) -> int:
        value = self.image.get(key)
        return int(value) if isinstance(value, int | float) else 0

    def ID(self) -> str:
        ident = str(self.image.get("Id") or "")
        return tables.truncate_id(ident) if self.trunc else ident

    def Repository(self) -> str:
        return self.repo

    def Tag(self) -> str:
        return self.tag

    def Digest(self) -> str:
        return self.digest

    def CreatedSince(self) -> str:
        return tables.time_ago(self._int("Created"), self.now)

    def CreatedAt(self) -> str:
        return tables.go_time(self._int("Created"))

    def Size(self) -> str:
        return tables.human_size(self._int("Size"), 3)

    def Containers(self) -> str:
        count = self._int("Containers") if "Containers" in self.image else -1
        return "N/A" if count == -1 else str(count)

    def VirtualSize(self) -> str:
        return tables.human_size(self._int("Size"))

    def SharedSize(self) -> str:
        shared = self._int("SharedSize") if "SharedSize" in self.image else -1
        return "N/A" if shared == -1 else tables.human_size(shared)

    def UniqueSize(self) -> str:
        size = self._int("Size") if "Size" in self.image else -1
        shared = self._int("SharedSize") if "SharedSize" in self.image else -1
        return "N/A" if size == -1 or shared == -1 else tables.human_size(size - shared)


def image_rows(images: list[dict[str, Any]], digest: bool, need_digest: bool, trunc: bool = True,
               now: float | None = None) -> list[ImageRow]:
    """docker's imageFormat: the rows of ``images`` (see the module docstring)."""
    rows: list[ImageRow] = []
    for image in images:
        if is_dangling(image):
            rows.append(ImageRow(image, "<none>", "<none>", "<none>", trunc, now))
            continue
        repo_tags: dict[str, list[str]] = {}
        repo_digests: dict[str, list[str]] = {}
        for ref in image.get("RepoTags") or []:
            parts = split_reference(str(ref))
            if parts is not None and parts[1]:
                repo_tags.setdefault(parts[0], []).append(parts[1])
        for ref in image.get("RepoDigests") or []:
            parts = split_reference(str(ref))
            if parts is not None and parts[2]:
                repo_digests.setdefault(parts[0], []).append(parts[2])
        for repo, tags in repo_tags.items():
            digests = repo_digests.pop(repo, [])
            if not need_digest:
                digests = []
            for tag in tags:
                if not digests:
                    rows.append(ImageRow(image, repo, tag, "<none>", trunc, now))
                for dgst in digests:
                    rows.append(ImageRow(image, repo, tag, dgst, trunc, now))
        for repo, digests in repo_digests.items():
            if digest:
                rows.extend(ImageRow(image, repo, "<none>", dgst, trunc, now) for dgst in digests)
            else:
                rows.append(ImageRow(image, repo, "<none>", "", trunc, now))
    return rows
