"""The container supervisor (``dockyard-containerd``): content store, snapshotters, metadata,
layers, images, registry client, and (later) containerd's gRPC services and task supervision."""
