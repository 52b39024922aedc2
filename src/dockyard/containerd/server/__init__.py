"""``dockyard-containerd``: containerd 1.6's gRPC API over the storage library.

- :mod:`.main` - the command line, config file, socket checks and signals;
- :mod:`.daemon` - opens the stores and serves every service on one gRPC server;
- :mod:`.call` - per call: namespace and lease from the metadata, and the interceptor that
  turns :mod:`dockyard.errors` into gRPC status codes (:mod:`.errors`);
- one module per service: :mod:`.version`, :mod:`.namespaces`, :mod:`.introspection`,
  :mod:`.content`, :mod:`.images`, :mod:`.snapshots`, :mod:`.leases`, :mod:`.diff`,
  :mod:`.events`, :mod:`.containers`, :mod:`.tasks`; and dockyard's own: :mod:`.transfer`
  (pull and push with progress) and :mod:`.archive` (save, load and import next to the
  content store, for the engine);
- :mod:`.convert` (protobuf <-> library values), :mod:`.gcsched` (garbage collection after
  deletions), :mod:`.exchange` (event fan-out).

The protobuf code is generated into :mod:`dockyard.containerd.api`.
"""
