"""``python -m tamkit.cli``: the same command line as the ``tamkit`` script."""

from tamkit.cli import main

if __name__ == "__main__":  # a spawned worker imports this module as __mp_main__: no re-run
    main()
