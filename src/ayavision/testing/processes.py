"""Kill a process the hard way in the middle of its work: the kill -9 tests of annotation and evaluation."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path


def committed_lines(path: Path) -> int:
    """Whole lines in ``path`` (0 while it does not exist)."""
    return path.read_bytes().count(b"\n") if path.exists() else 0


def kill_9_after(process: subprocess.Popen, path: Path, lines: int, timeout: float = 60.0) -> int:
    """SIGKILL ``process`` as soon as ``path`` holds ``lines`` whole lines; the lines it held after the kill."""
    deadline = time.monotonic() + timeout
    while committed_lines(path) < lines and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    return committed_lines(path)
