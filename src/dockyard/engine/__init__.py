"""The engine: Docker semantics over the supervisor.

``dockyardd`` (the daemon; one job per module):

* :mod:`dockyard.engine.daemon` — the command line, signals, exit status;
* :mod:`dockyard.engine.config` and :mod:`dockyard.engine.hosts` — flags and daemon.json
  (unknown keys and flag/file conflicts refused by name), ``--host`` addresses, TLS rules;
* :mod:`dockyard.engine.engine` — start and stop, in order: sockets, supervisor, events, API;
* :mod:`dockyard.engine.listeners` — the API sockets (one daemon per socket, 0660 + group
  ``dockyard``, TCP only with mutual TLS);
* :mod:`dockyard.engine.containerd_process` — the dockyard-containerd it starts, adopts
  after a crash, restarts if it dies, and stops by PID;
* :mod:`dockyard.engine.supervisor` — the gRPC client (namespace ``dockyard``; gRPC codes
  back to :mod:`dockyard.errors`);
* :mod:`dockyard.engine.events`, :mod:`dockyard.engine.event_filters`,
  :mod:`dockyard.engine.ctrd_events` — the event hub every service publishes to, Docker's
  event filters, containerd's task events republished;
* :mod:`dockyard.engine.filters` — Docker's ``filters`` query parameter;
* :mod:`dockyard.engine.context` — what API modules are built from;
* :mod:`dockyard.engine.runtimes` — the OCI runtimes by name;
* :mod:`dockyard.engine.system_service`, :mod:`dockyard.engine.hostinfo`,
  :mod:`dockyard.engine.image_summaries` — ``/version``, ``/info``, ``/system/df``;
* the image service: :mod:`dockyard.engine.images_service` (Docker's model over
  containerd's records: list, inspect, history, tag, remove, prune; ``ctx.images``) with
  :mod:`.image_catalog` (records -> images by ID, lookup), :mod:`.image_refs` (names,
  dangling records, reference patterns), :mod:`.image_inspect` (the documents),
  :mod:`.image_delete` (removal and prune rules, conflicts), :mod:`.image_transfer`
  (pull and push through the transfer service, :mod:`.image_progress` messages),
  :mod:`.image_archive` (save, load, import through the archive service) and
  :mod:`.image_changes` (``--change``);
* the container service: :mod:`dockyard.engine.containers` (records, lookup by ID, name or
  prefix, create, rename, remove; ``ctx.containers``) with :mod:`.container_lifecycle`
  (start, stop, kill, restart, pause, wait, exits, restart policies; it owns containerd's
  task topics), :mod:`.container_restore` (live restore when the engine starts),
  :mod:`.container_store` (one SQLite file), :mod:`.container_model` (the record, its
  state and times), :mod:`.container_names`, :mod:`.container_config` (Config merged with
  the image's, HostConfig checked), :mod:`.container_images` (the image of a create),
  :mod:`.container_rootfs` (snapshot, lease, passwd), :mod:`.container_files` (hosts,
  hostname, resolv.conf), :mod:`.container_io` (fifos, output copy, stdin),
  :mod:`.logs_jsonfile` (json-file logs with rotation), :mod:`.container_views` (inspect,
  ps, filters), :mod:`.container_stats` (stats, top), :mod:`.container_update`,
  :mod:`.container_fs` (diff, export), :mod:`.container_volumes` (a container's volumes:
  found at create, mounted and copied up at start, released at exit);
* the volume service: :mod:`dockyard.engine.volumes` (the local driver, references,
  driver-option mounts, prune; ``ctx.volumes``) with :mod:`.volume_store` (metadata in
  SQLite) and :mod:`.volume_copy` (copy-up keeping owners);
* networks: :mod:`.network_service` (the networks, endpoints, Docker's API semantics),
  :mod:`.network_ipam` (subnets and addresses), :mod:`.network_model` (records and their
  store), :mod:`.network_bridge` (bridges, namespaces, veths over netlink),
  :mod:`.network_containers` (containers on networks: create, start, exit, connect),
  :mod:`.network_dns` (the embedded DNS server, 127.0.0.11 of user-defined networks) with
  :mod:`.network_dns_names` (its answers, without I/O),
  :mod:`.network_ports` (published ports' specs and host port choice),
  :mod:`.network_publish` (published ports of running containers: host ports held, saved),
  :mod:`.network_firewall` (the engine's nft table and sysctls) with :mod:`.network_rules`
  (the table's text, without I/O) and :mod:`.nftables` (libnftables through ctypes);
* :mod:`dockyard.engine.api` — the HTTP API (aiohttp): app, middlewares, route registry.

The translation of a Docker container configuration (the ``Config`` and ``HostConfig``
objects of the Engine API's ContainerCreate, plus the image's config) into an OCI runtime
spec (``config.json``), as dockerd 20.10+ builds it:

* :mod:`dockyard.engine.spec` — :func:`~dockyard.engine.spec.build_spec`, the one
  translation point; it calls the modules below, one concern each;
* :mod:`dockyard.engine.defaults` — Docker's defaults (capabilities, mounts, masked and
  read-only paths, device cgroup rules, PATH);
* :mod:`dockyard.engine.spec_fields` — which HostConfig fields are supported, left to the
  engine, or accepted only at their zero value;
* :mod:`dockyard.engine.spec_host` — the host facts and hooks the translation needs
  (devices, kernel, hostname, volumes...), replaceable in tests;
* :mod:`dockyard.engine.spec_user` — ``User``/``GroupAdd`` resolved against the
  container's /etc/passwd and /etc/group;
* :mod:`dockyard.engine.spec_mounts` — Binds, Mounts, Tmpfs, /dev/shm, mount ordering;
* :mod:`dockyard.engine.spec_resources` — cgroup limits, ulimits, devices;
* :mod:`dockyard.engine.spec_namespaces` — network/IPC/PID/UTS/cgroup modes and sysctls;
* :mod:`dockyard.engine.spec_security` — capabilities, SecurityOpt, privileged;
* :mod:`dockyard.engine.seccomp_default` and :mod:`dockyard.engine.seccomp_profile` —
  the default seccomp profile and the resolution of Docker-format profiles to OCI.

Errors are ``dockyard.errors`` classes whose message names the Docker field
(``HostConfig.Memory: Minimum memory limit allowed is 6MB``).
"""
