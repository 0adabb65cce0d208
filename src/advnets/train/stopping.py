"""Stop signals: the first one (Ctrl-C, SIGTERM, SIGUSR1) asks a run to stop after the current
iteration, with its state saved; a second one interrupts at once."""

from __future__ import annotations

import contextlib
import signal
import threading
import time

from tqdm import tqdm


class StopRequest:
    """Set by the first stop signal: the run saves its state after the current iteration and exits."""

    def __init__(self):
        self.event = threading.Event()
        self.signal_name, self.signal_number = "SIGINT", int(signal.SIGINT)
        self.when = 0.0  # time.monotonic() of the first signal

    def is_set(self) -> bool:
        return self.event.is_set()

    def set(self, signum: int) -> None:
        self.signal_name, self.signal_number = signal.Signals(signum).name, int(signum)
        self.when = time.monotonic()
        self.event.set()


# A second stop signal this soon after the first is the same request passed on by a launcher (torchrun
# forwards the Ctrl-C every rank already got from the terminal), not a user's second Ctrl-C.
REPEAT_GRACE_S = 2.0


# Signals that ask a run to stop: Ctrl-C, and what schedulers send before they kill or pre-empt a job
# (SLURM and Kubernetes: SIGTERM; SLURM's --signal=USR1@T: SIGUSR1).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGUSR1") if hasattr(signal, name))


@contextlib.contextmanager
def stop_requests(restore: bool = True):
    """Turn the first stop signal (Ctrl-C, SIGTERM, SIGUSR1) into a request to stop after the current
    iteration (so the saved state is never half an update); a second one interrupts at once. On leaving,
    the previous handlers come back; with `restore` false (a process that exits next) the signals are
    ignored instead, so that a second Ctrl-C during the exit prints no traceback."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handler(signum, frame):
        if request.is_set():
            if time.monotonic() - request.when < REPEAT_GRACE_S:
                return
            raise KeyboardInterrupt
        request.set(signum)
        again = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        tqdm.write(f"{signal.Signals(signum).name}: stopping after this iteration ({again} again to abort without saving)")

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield request
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old if restore else signal.SIG_IGN)
