"""Progress of long work on a terminal: one line, rewritten in place, on standard error.

Shown only where standard error is a terminal and the output is not JSON, so CI logs and scripts
see nothing; and only once the work has taken more than `after` seconds, so quick commands stay
quiet. The clock is injectable (tests do not wait for it).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


class Progress:
    def __init__(self, stream: TextIO | None, *, after: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.clock = clock
        self.start = clock()
        self.after = after
        self.shown = False

    @classmethod
    def for_terminal(cls, output_format: str = "text") -> Progress:
        """Progress on standard error where a person is watching it; silent otherwise."""
        interactive = output_format != "json" and sys.stderr.isatty()
        return cls(sys.stderr if interactive else None)

    def show(self, message: str) -> None:
        if self.stream is None or (not self.shown and self.clock() - self.start < self.after):
            return
        self.stream.write(f"\r\033[K{message}")
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        """Clear the line, so that what the command prints next starts on a clean one."""
        if self.stream is not None and self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False
