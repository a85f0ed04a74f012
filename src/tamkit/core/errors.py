"""Exceptions that tamkit raises for bad input.

``InputError`` means: the user's data or arguments cannot be used as given. The command line
turns it into one line on stderr and exit code 2; anything else escaping is a bug (exit 1).
"""

from __future__ import annotations


class InputError(ValueError):
    """The input (file, array, argument) cannot be analysed as given; the message says why."""
