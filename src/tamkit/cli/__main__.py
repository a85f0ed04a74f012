"""``python -m tamkit.cli``: the same command line as the ``tamkit`` script."""

from tamkit.cli import main

main()
