"""Image formats: save and load images as files, import and export root filesystems.

- :mod:`.docker_archive` — ``docker save`` / ``docker load`` archives (``manifest.json``,
  ``repositories``, an OCI layout alongside, as Docker 25+ writes them).
- :mod:`.oci_layout` — OCI image layouts (``oci-layout``, ``index.json``, ``blobs/``), as a
  directory or a tar stream.
- :mod:`.import_export` — a root filesystem tar as a one-layer image (``docker import``),
  and a snapshot as a flat tar (``docker export``).

Helpers: :mod:`.paths` (archive names), :mod:`.spool` (an untrusted tar read into ingests),
:mod:`.tarscan` (its headers), :mod:`.staging` (commit or roll back what a load wrote),
:mod:`.tarwriter` (tar output), :mod:`.source` (images read from the content store),
:mod:`.records` (image records), :mod:`.docker_manifest` and :mod:`.oci_index` (the small
JSON documents).
"""
