"""Layer archives: apply a layer tar into a directory, diff a directory into a layer tar.

containerd's ``archive`` and ``diff`` packages for dockyard, per the OCI image spec's
"Image Layer Filesystem Changeset":

- :mod:`.apply` — :func:`~.apply.apply_layer`: tar / tar+gzip / tar+zstd into a directory,
  whiteouts and opaque directories (naive or overlay style), hostile archives refused;
- :mod:`.diff` — :func:`~.diff.write_diff`: the changes of a directory (an overlay upper
  dir, or a tree compared with its parent) as a layer tar, optionally compressed;
- :mod:`.layers` — diffIDs and chainIDs.

The rest are the pieces: :mod:`.compression`, :mod:`.stream` (the read side),
:mod:`.tarread` (headers), :mod:`.names`, :mod:`.resolve`, :mod:`.fsops`,
:mod:`.whiteouts`, :mod:`.tarwrite` and :mod:`.changes` (the write side).
"""
