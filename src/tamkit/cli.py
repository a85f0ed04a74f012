"""tamkit's command line: a thin layer over the Python API.

Exit codes: 0 done; 2 bad input or usage (one line on stderr, no traceback); 1 a bug.
Each command lives in :mod:`tamkit.commands` and is registered below.
"""

from __future__ import annotations

import sys

import click
import typer

from tamkit.errors import InputError

app = typer.Typer(
    name="tamkit",
    help="Transient absorption microscopy of carrier transport: analyse, simulate, reproduce.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    # one line per command module; each module defines `command(...)` with typer annotations
    from tamkit.commands import analyze, demo

    app.command("analyze", help=analyze.__doc__)(analyze.command)
    app.command("demo", help=demo.__doc__)(demo.command)


_register()


def _fail(message: str, code: int = 2) -> None:
    first_line = " ".join(str(message).split())
    print(f"tamkit: error: {first_line}", file=sys.stderr)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``tamkit`` console script."""
    try:
        result = app(args=argv, standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        _fail("aborted", 1)
    except click.ClickException as exc:
        _fail(exc.format_message(), 2)
    except InputError as exc:
        _fail(str(exc), 2)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
