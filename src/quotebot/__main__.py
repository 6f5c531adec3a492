"""The `quotebot` command's entry point (also `python -m quotebot`)."""

import os
import signal
import sys


def _exit_at_once(signum: int, frame: object) -> None:
    # Nothing was done yet, and a KeyboardInterrupt raised inside the import machinery can
    # surface as "Exception ignored in ..." or tear down half-loaded native libraries
    # (torch, ONNX Runtime) with a message of their own.
    os._exit(130)


def _quiet_about_ctrl_c(unraisable: "sys.UnraisableHookArgs") -> None:
    # A Ctrl-C that lands in a callback Python cannot raise from (the import machinery's
    # module locks, while a model loads lazily) is a Ctrl-C, not an error to print.
    if not issubclass(unraisable.exc_type, KeyboardInterrupt):
        sys.__unraisablehook__(unraisable)


def main() -> None:
    """Load the CLI and run it; a Ctrl-C while it loads exits quietly, as it does later."""
    signal.signal(signal.SIGINT, _exit_at_once)
    sys.unraisablehook = _quiet_about_ctrl_c
    from quotebot.cli import main as run

    signal.signal(signal.SIGINT, signal.default_int_handler)
    run()


if __name__ == "__main__":
    main()
