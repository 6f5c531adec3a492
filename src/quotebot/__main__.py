"""The `quotebot` command's entry point (also `python -m quotebot`)."""

import os


def main() -> None:
    """Load the CLI and run it; a Ctrl-C while it loads exits quietly, as it does later."""
    try:
        from quotebot.cli import main as run
    except KeyboardInterrupt:
        # At once: nothing was done yet, and tearing down half-loaded native libraries
        # (torch, ONNX Runtime) can abort with a message of its own.
        os._exit(130)
    run()


if __name__ == "__main__":
    main()
