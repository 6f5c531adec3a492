"""The `quotebot` command's entry point (also `python -m quotebot`)."""

import sys


def main() -> None:
    """Load the CLI and run it; a Ctrl-C while it loads exits quietly, as it does later."""
    try:
        from quotebot.cli import main as run
    except KeyboardInterrupt:
        sys.exit(130)
    run()


if __name__ == "__main__":
    main()
