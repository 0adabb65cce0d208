"""Progress of long tasks (training, evaluation, k-means, fitting E, semi-supervised runs).

On a terminal, a tqdm bar with its rate and ETA. Where the output is not a terminal (a log file, a CI
job, a scheduler), plain lines instead, at most one per PLAIN_EVERY_S seconds and one at the end:

    quick-mnist: step 500/1500 (33%), 24.8 steps/s, ETA 0:00:40, D(x) 0.612, D(G(z)) 0.213

A task may also copy those lines into a file (a run's ``log.txt``), whatever the output is.
"""

from __future__ import annotations

import datetime
import sys
import time
from typing import Any, Callable, TextIO

from tqdm import tqdm

PLAIN_EVERY_S = 10.0


def _duration(seconds: float) -> str:
    return str(datetime.timedelta(seconds=round(max(seconds, 0.0))))


class Progress:
    """`total` units of work (`unit`: "step", "image" ...), `initial` of them done already."""

    def __init__(self, total: int, desc: str, unit: str = "step", initial: int = 0, enabled: bool = True,
                 stream: TextIO | None = None, copy_to: Callable[[str], None] | None = None):
        self.stream = stream or sys.stderr
        self.total, self.desc, self.unit, self.enabled = total, desc, unit, enabled
        self.copy_to = copy_to  # also receives every plain line (a run's log.txt), terminal or not
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.bar = tqdm(total=total, initial=initial, desc=desc, unit=unit, dynamic_ncols=True, file=self.stream,
                        disable=not self.tty)
        self.n = self.start_n = initial
        self.started = self.last_line = time.perf_counter()
        self.fields: dict[str, Any] = {}

    def set_fields(self, fields: dict[str, Any]) -> None:
        """Numbers shown beside the rate from now on (e.g. {"D(x)": "0.612"})."""
        self.fields = fields
        self.bar.set_postfix(fields)

    def update(self, k: int = 1) -> None:
        """`k` more units done."""
        self.n += k
        self.bar.update(k)
        now = time.perf_counter()
        if now - self.last_line >= PLAIN_EVERY_S:
            self._line(now)

    def reset(self, n: int) -> None:
        """Back to `n` units done (a run that rolled back to a checkpoint)."""
        self.bar.reset(total=self.total)
        self.bar.update(n)
        self.n = self.start_n = n
        self.started = time.perf_counter()

    def write(self, text: str) -> None:
        """A message (on standard output) that does not break the bar."""
        if self.tty:
            self.bar.write(text, file=sys.stdout)
        else:
            print(text, flush=True)

    def line(self) -> str:
        now = time.perf_counter()
        done = self.n - self.start_n
        rate = done / max(now - self.started, 1e-9)
        eta = (self.total - self.n) / rate if rate > 0 else float("inf")
        shown = ", ".join(f"{k} {v}" for k, v in self.fields.items())
        pct = 100 * self.n / self.total if self.total else 100.0
        text = (f"{self.desc}: {self.unit} {self.n}/{self.total} ({pct:.0f}%), {rate:.1f} {self.unit}s/s, "
                f"ETA {_duration(eta) if eta != float('inf') else '?'}")
        return text + (f", {shown}" if shown else "")

    def _line(self, now: float) -> None:
        self.last_line = now
        text = self.line()
        if self.enabled and not self.tty:
            print(text, file=self.stream, flush=True)  # standard error: standard output stays the command's result
        if self.copy_to:
            self.copy_to(text)

    def close(self) -> None:
        if self.n > self.start_n and self.enabled:
            self._line(time.perf_counter())
        self.bar.close()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress(iterable, total: int, desc: str, unit: str = "step", enabled: bool = True):
    """Iterate `iterable`, showing its progress (see Progress)."""
    with Progress(total, desc, unit, enabled=enabled) as bar:
        for item in iterable:
            yield item
            bar.update(1)
