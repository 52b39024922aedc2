"""The engine: Docker semantics over the supervisor.

For now this package holds one job, the translation of a Docker container configuration
(the ``Config`` and ``HostConfig`` objects of the Engine API's ContainerCreate, plus the
image's config) into an OCI runtime spec (``config.json``), as dockerd 20.10+ builds it:

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
