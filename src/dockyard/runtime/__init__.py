"""The OCI runtime (dockyard-runc): namespaces, mounts, cgroups, capabilities, seccomp."""
