"""The Docker Engine API of ``dockyardd`` (aiohttp).

- :mod:`.app` — the application: every registered module's routes at ``/<path>`` and
  ``/v{version}/<path>``, the middlewares, the headers;
- :mod:`.registry` — the tuple of route modules (add yours there);
- :mod:`.routing` — ``RouteDef`` and the ``routes(ctx)`` protocol of a module;
- :mod:`.middleware` — request logging, errors as ``{"message": ...}``, the version check,
  the common headers;
- :mod:`.versions` — API 1.47, minimum 1.24, Docker's messages for out-of-range versions;
- :mod:`.httputil` — what handlers share: the request's API version, JSON in and out,
  query parameters, noticing a client that left a stream;
- route modules: :mod:`.system` (``/_ping``, ``/version``, ``/info``, ``/system/df``),
  :mod:`.events` (``/events``), :mod:`.images` (list, inspect, history, tag, remove, prune,
  search) and :mod:`.images_transfer` (pull, import, push, save, load); :mod:`.containers`
  (create, list, inspect, start, stop, restart, kill, wait, rm, pause, rename, resize, update,
  prune), :mod:`.containers_logs`, :mod:`.containers_attach` (over :mod:`.hijack`),
  :mod:`.containers_stats` (stats, top) and :mod:`.containers_fs` (changes, export).
"""
