"""File locks shared by the model builder, the cache pruner and every
pytest-xdist worker: one process builds a model while the others wait, and
a prune never deletes a model that a run holds."""

from __future__ import annotations

import contextlib
import errno
import fcntl
from pathlib import Path

__all__ = ["file_lock", "try_file_lock"]


@contextlib.contextmanager
def file_lock(path: Path, shared: bool = False):
    """Hold ``path`` locked (exclusive, or shared with other shared holders), waiting for it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def try_file_lock(path: Path, shared: bool = False):
    """Yield True holding the lock if it was free, else False (never waits)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
