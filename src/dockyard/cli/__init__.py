"""``dockyard``: docker's command line, speaking only the Docker Engine API over a unix socket.

Commands, flags, output columns and exit codes follow docker's CLI. The package stays
import-light: ``main`` imports one command module per run, the API client is a small HTTP/1.1
codec over ``_socket`` (no ``http.client``, ``ssl`` or ``email``), JSON goes through
``dockyard.oci.jsonio`` (no ``json``, ``re``), and ``--format`` templates are our own Go
text/template (``gotemplate``). Layout:

- ``main``: global flags, dispatch to ``dockyard.cli.commands.<module>``, exit codes.
- ``commandtable``: every docker command path (``ps``, ``container ls``, ...) and its module.
- ``flags`` / ``help``: pflag-style parsing and cobra-style usage text.
- ``command``: the context a command runs with (``Cli``), ``StatusError`` and argument checks.
- ``client`` / ``httpio``: the Engine API client (version negotiation, JSON, streams, hijack).
- ``gotemplate`` (+ ``tmpl_*``, ``gofmt``): ``--format`` templates and docker's formatter.
- ``tabwriter`` / ``tables``: Go's tabwriter and docker's human-readable values.
- ``rowcontext`` / ``imagefmt``: docker's formatter rows (``{{.ID}}``, ``--format json``), image rows.
- ``inspecting``: docker's inspect output (indented JSON, ``json``, templates) for every ``inspect``.
- ``jsonmessage`` / ``term``: the progress stream of pull, push, load, import and build, drawn as
  docker draws it on a terminal or as plain lines; the terminal facts it needs.
- ``dockerconfig`` / ``regauth``: ``~/.docker/config.json`` (credentials, helpers, formats) and
  ``X-Registry-Auth``.
- ``filteropt``, ``timestamps``, ``platforms``, ``apiquery``, ``fileio``, ``prune``: ``--filter``,
  ``--since``/``--until``, ``--platform``, query strings, save/load files, the prune calls.
"""
