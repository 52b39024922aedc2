"""The two JSON documents of a ``docker save`` archive: ``manifest.json`` and ``repositories``.

``manifest.json`` is a list with one item per image::

    [{"Config": "blobs/sha256/<hex>", "RepoTags": ["busybox:latest"],
      "Layers": ["blobs/sha256/<diffID hex>", ...]}]

(``Parent`` and ``LayerSources`` only when set; ``RepoTags`` is ``null`` for an untagged
image.) ``repositories`` maps each familiar name to its tags and the hex of the image's top
layer: ``{"busybox": {"latest": "<hex>"}}``. Both are written as Go's ``json.Encoder``
writes them (compact, map keys sorted, a final newline), so a save is byte-for-byte stable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dockyard.errors import InvalidArgument
from dockyard.oci import fields, jsonio

MANIFEST_FILE = "manifest.json"
REPOSITORIES_FILE = "repositories"


@dataclass
class ManifestItem:
    """One image of ``manifest.json``: paths inside the archive, and its tags."""

    config: str
    repo_tags: list[str] = field(default_factory=list)
    layers: list[str] = field(default_factory=list)
    parent: str = ""
    layer_sources: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Config": self.config,
            "RepoTags": list(self.repo_tags) if self.repo_tags else None,
            "Layers": list(self.layers),
        }
        if self.parent:
            out["Parent"] = self.parent
        if self.layer_sources:
            out["LayerSources"] = fields.sorted_map(self.layer_sources)
        return out


def dump_manifest(items: list[ManifestItem]) -> bytes:
    return (jsonio.dumps([item.to_dict() for item in items]) + "\n").encode()


def parse_manifest(data: bytes, what: str = MANIFEST_FILE) -> list[ManifestItem]:
    """Read ``manifest.json``; InvalidArgument names the field at fault."""
    doc = jsonio.loads(data, what)
    if doc is None:
        raise InvalidArgument(f"{what}: invalid manifest, manifest cannot be null (but can be [])")
    if not isinstance(doc, list):
        fields.fail(what, "must be a list of images")
    items = []
    for n, value in enumerate(doc):
        where = f"{what}[{n}]"
        item = fields.obj(value, where)
        config = fields.required_str(item, "Config", where)
        layers = fields.str_list(item.get("Layers"), f"{where}.Layers")
        sources = fields.opt_obj(item.get("LayerSources"), f"{where}.LayerSources")
        items.append(ManifestItem(
            config=config,
            repo_tags=fields.str_list(item.get("RepoTags"), f"{where}.RepoTags"),
            layers=layers,
            parent=fields.opt_str(item.get("Parent"), f"{where}.Parent"),
            layer_sources=dict(sources),
        ))
    return items


def dump_repositories(tags: list[tuple[str, str, str]]) -> bytes:
    """``repositories`` from (familiar name, tag, top layer hex) triples."""
    repos: dict[str, dict[str, str]] = {}
    for name, tag, top in tags:
        repos.setdefault(name, {})[tag] = top
    ordered = {name: fields.sorted_map(repos[name]) for name in sorted(repos)}
    return (jsonio.dumps(ordered) + "\n").encode()
