"""The command's entry point: `mm-advisor`, and `python -m mm_advisor`.

Loading the command line takes a moment (click, then the command's own module). A Ctrl-C in
that moment exits 130 with one line, as a Ctrl-C at any later time does, instead of Python's
traceback.
"""

from __future__ import annotations

import os
import signal


def main() -> None:
    quiet = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if quiet:
        signal.signal(signal.SIGINT, _interrupted_while_loading)
    try:
        from .cli import main as run
    finally:
        if quiet:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    run()


def _interrupted_while_loading(signum: int, frame: object) -> None:
    os.write(2, b"\nInterrupted.\n")
    os._exit(130)  # nothing has been written yet: there is nothing to clean up


if __name__ == "__main__":
    main()
