"""``python -m aep2`` runs the CLI."""

from aep2.cli import main

main()
