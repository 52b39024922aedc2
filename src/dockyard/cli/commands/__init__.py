"""One module per docker command; ``dockyard.cli.main`` imports only the one being run.

``commandtable.COMMANDS`` names the module of every command path (``ps`` serves ``ps``,
``container ls``, ``container list`` and ``container ps``). A module defines:

- ``USAGE``: the usage after the command path, e.g. ``"[OPTIONS] CONTAINER [CONTAINER...]"``;
- ``FLAGS``: a list of ``dockyard.cli.flags.Flag`` (``--help`` is added by the frame);
- ``ARGS``: an argument check from ``dockyard.cli.command`` (``no_args``, ``exact_args(n)``,
  ``min_args(n)``, ``max_args(n)``, ``range_args(a, b)``, ``any_args``);
- optionally ``INTERSPERSED = False`` (flags end at the first argument, as for ``run``
  and ``exec``), ``DESCRIPTION`` (replaces the summary in ``--help``) and ``EXAMPLES``;
- ``run(cli, opts, args) -> int | None``: ``cli`` is ``dockyard.cli.command.Cli`` (streams,
  ``cli.client``), ``opts`` the parsed flags as attributes (``opts.no_trunc``), ``args`` the
  arguments. Errors are raised, never returned: ``dockyard.errors`` classes print and exit 1,
  ``StatusError`` chooses the status.
"""
