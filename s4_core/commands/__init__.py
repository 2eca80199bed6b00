"""Subcommands of the ``s4`` command line (see ``s4_core.cli``)."""
