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
  :mod:`.events` (``/events``), :mod:`.containers_placeholder` (``/containers/json``).
"""
