"""tamkit's command line: a thin layer over the Python API.

Exit codes: 0 done; 2 bad input or usage (one line on stderr, no traceback); 1 a bug.
Each command lives in :mod:`tamkit.cli.options` and is registered below.
"""

from __future__ import annotations

import errno
import sys
import warnings

import typer

from tamkit.core.errors import InputError

app = typer.Typer(
    name="tamkit",
    help="Transient absorption microscopy of carrier transport: analyse, simulate, reproduce.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    # one line per command module; each module defines `command(...)` with typer annotations
    from tamkit.cli import analyze, batch, demo, series, simulate

    app.command("analyze", help=analyze.__doc__)(analyze.command)
    app.command("demo", help=demo.__doc__)(demo.command)
    app.command("simulate", help=simulate.__doc__)(simulate.command)
    app.command("batch", help=batch.__doc__)(batch.command)
    app.command("series", help=series.__doc__)(series.command)
    from tamkit.cli import spectro

    app.command("spectro", help=spectro.__doc__)(spectro.command)
    from tamkit.cli import reproduce

    app.command("reproduce", help=reproduce.__doc__)(reproduce.command)
    from tamkit.cli import infer

    app.command("infer", help=infer.__doc__)(infer.command)


_register()


def _fail(message: str, code: int = 2) -> None:
    first_line = " ".join(str(message).split())
    print(f"tamkit: error: {first_line}", file=sys.stderr)
    sys.exit(code)


#: errors of the file system that no check before the work can rule out (a disk filling up)
_FILE_SYSTEM_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.ENAMETOOLONG, errno.ELOOP}
_SHOWN_NAME_CHARS = 80


def os_error_message(exc: OSError) -> str | None:
    """One line for an error of a path the user gave (a name too long, a disk full), or None
    for an OSError that is not about a path (a bug to see in full)."""
    if exc.filename is None and exc.errno not in _FILE_SYSTEM_ERRNOS:
        return None
    reason = exc.strerror or str(exc)
    if exc.filename is None:
        return reason
    name = str(exc.filename)
    if len(name) > _SHOWN_NAME_CHARS:
        name = f"{name[:_SHOWN_NAME_CHARS // 2]}...{name[-_SHOWN_NAME_CHARS // 2:]}"
    return f"{name}: {reason}"


def _exception_types() -> tuple[tuple, tuple, tuple]:
    """(exit, abort, usage-error) exception types: typer >= 0.20 vendors its own click, older
    typer raises click's; catch both so that a usage error is always one line and exit 2."""
    exits, aborts, usage = [typer.Exit], [typer.Abort], []
    if hasattr(typer, "TyperException"):
        usage.append(typer.TyperException)
    try:
        import click

        exits.append(click.exceptions.Exit)
        aborts.append(click.exceptions.Abort)
        usage.append(click.ClickException)
    except ImportError:  # pragma: no cover - click is optional with a vendoring typer
        pass
    return tuple(exits), tuple(aborts), tuple(usage)


_EXIT, _ABORT, _USAGE = _exception_types()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``tamkit`` console script."""
    from tamkit.reporting.html import set_command_line

    set_command_line(["tamkit", *(sys.argv[1:] if argv is None else argv)])
    # numpy's floating-point warnings (an empty mean, a division by zero on a blank frame) are
    # not for the user: tamkit's own checks state the cause in one line, or as a result's note
    warnings.simplefilter("ignore", RuntimeWarning)
    try:
        result = app(args=argv, standalone_mode=False)
    except _EXIT as exc:
        sys.exit(getattr(exc, "exit_code", 0))
    except _ABORT:
        _fail("aborted", 1)
    except _USAGE as exc:
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        _fail(message, getattr(exc, "exit_code", 2) or 2)
    except InputError as exc:
        _fail(str(exc), 2)
    except OSError as exc:
        message = os_error_message(exc)
        if message is None:
            raise
        _fail(message, 2)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
