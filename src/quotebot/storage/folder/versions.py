"""How index versions come and go: naming, the writer lock, going live, cleaning up.

A new version is written beside the live one under a temporary name (``.tmp-v-...``),
renamed into place when complete, and only then made live by atomically replacing the
``CURRENT`` file that names it. A writer killed at any moment (SIGKILL, power loss)
therefore leaves the previous version live and whole; the next writer, holding the
``LOCK``, removes what it left behind. A process reading a version holds a shared lock
on its manifest, so no writer deletes a version that is still answering questions.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from quotebot.storage.protocol import IndexLocked, StoreError

CURRENT = "CURRENT"
LOCK = "LOCK"
MANIFEST = "manifest.json"  # in every complete version; readers hold a shared lock on it
VERSION_PREFIX = "v-"
TMP_PREFIX = ".tmp-"


def current_version(index_dir: Path) -> Path | None:
    """The live version's folder, or None when the index dir holds none."""
    try:
        name = (index_dir / CURRENT).read_text().strip()
    except OSError:
        return None
    path = index_dir / name
    return path if name and path.is_dir() else None


def hold_version(path: Path) -> IO[bytes]:
    """A shared lock on a version's manifest, which writers test before deleting it."""
    try:
        file = open(path / MANIFEST, "rb")  # noqa: SIM115  (held as long as the Index lives)
    except OSError as error:
        raise StoreError(f"the index version {path} is gone ({error.strerror})") from error
    try:
        fcntl.flock(file, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError as error:
        file.close()
        raise StoreError(f"the index version {path} is being deleted") from error
    return file


_held = threading.local()


@contextmanager
def writer(index_dir: Path) -> Iterator[None]:
    """Hold the index's writer lock while changing it; one process (and thread) at a time.

    On entry it removes what a killed writer left behind. Re-entrant within a thread.

    Raises:
        IndexLocked: another process or thread holds the lock.
    """
    key = str(index_dir.resolve())
    held: set[str] = _held.__dict__.setdefault("dirs", set())
    if key in held:
        yield
        return
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        file = open(index_dir / LOCK, "a+")  # noqa: SIM115  (closed below)
    except OSError as error:
        raise StoreError(
            f"cannot write the index in {index_dir} ({error.strerror or error}); "
            "choose another folder with --index-dir or QUOTEBOT_INDEX_DIR"
        ) from error
    with file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            holder = file.read().strip() or "another process"
            raise IndexLocked(
                f"the index in {index_dir} is being changed by {holder}; "
                "try again when that has finished"
            ) from None
        file.truncate(0)
        file.write(f"quotebot (pid {os.getpid()}, since {time.strftime('%H:%M:%S')})\n")
        file.flush()
        held.add(key)
        try:
            _remove_leftovers(index_dir)
            yield
        finally:
            held.discard(key)
            file.truncate(0)


def new_version_name(index_dir: Path) -> str:
    """The name for the next version: its sequence number (one more than any so far)
    and the time."""
    sequence = max((_sequence(p.name) for p in _versions(index_dir)), default=0) + 1
    return f"{VERSION_PREFIX}{sequence:06d}-{time.strftime('%Y%m%dT%H%M%S')}"


def publish(index_dir: Path, tmp: Path, name: str) -> Path:
    """Make a completely written version live: flush it to disk, rename it into place,
    switch CURRENT to it, then delete versions no longer needed.

    Returns:
        The live version's folder.
    """
    _fsync_tree(tmp)
    final = index_dir / name
    os.rename(tmp, final)
    _fsync_dir(index_dir)
    set_current(index_dir, final)
    _remove_old_versions(index_dir)
    return final


def set_current(index_dir: Path, version: Path) -> None:
    """Make a complete version live (atomically)."""
    _replace_text(index_dir / CURRENT, version.name + "\n")


def complete_versions(index_dir: Path) -> list[Path]:
    """Every version folder with its manifest (written last, so complete), oldest first."""
    return [v for v in _versions(index_dir) if (v / MANIFEST).is_file()]


def discard(folder: Path) -> None:
    """Remove a temporary folder."""
    if folder.exists():
        shutil.rmtree(folder, ignore_errors=True)


def _replace_text(path: Path, text: str) -> None:
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}")
    with open(tmp, "w") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_tree(folder: Path) -> None:
    for child in folder.iterdir():
        if child.is_dir():
            _fsync_tree(child)
            continue
        with open(child, "rb") as file:
            os.fsync(file.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _versions(index_dir: Path) -> list[Path]:
    """Every version folder, oldest first."""
    found = [p for p in index_dir.glob(f"{VERSION_PREFIX}*") if p.is_dir()]
    return sorted(found, key=lambda p: (_sequence(p.name), p.name))


def _sequence(name: str) -> int:
    """The sequence number in a version's name (0 for names of an older layout)."""
    number = name.removeprefix(VERSION_PREFIX).split("-")[0]
    return int(number) if number.isdigit() and len(number) == 6 else 0


def _remove_leftovers(index_dir: Path) -> None:
    """Remove what a killed writer left behind: temporary files and folders, versions
    that never went live, and old versions no process is using."""
    for child in index_dir.glob(f"{TMP_PREFIX}*"):
        if child.is_dir():
            discard(child)
        else:
            child.unlink(missing_ok=True)
    live = current_version(index_dir)
    if live is not None:
        for version in _versions(index_dir):
            if _sequence(version.name) > _sequence(live.name):
                _delete_version(version)
    _remove_old_versions(index_dir)


def _remove_old_versions(index_dir: Path, spare: int = 1) -> None:
    """Delete versions older than the live one, sparing the newest ``spare`` of them
    and any that a running process still has open."""
    live = current_version(index_dir)
    if live is None:
        return
    older = [v for v in _versions(index_dir) if _sequence(v.name) < _sequence(live.name)]
    for old in older[: max(len(older) - spare, 0)]:
        _delete_version(old)


def _delete_version(version: Path) -> None:
    """Delete a version unless a reader holds it; renamed first, so that a writer killed
    halfway leaves only a temporary folder for the next one to remove."""
    try:
        file = open(version / MANIFEST, "rb")  # noqa: SIM115
    except FileNotFoundError:
        file = None  # never finished or already half deleted: nobody can be reading it
    except OSError:
        return
    try:
        if file is not None:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        doomed = version.with_name(f"{TMP_PREFIX}old-{version.name}")
        os.rename(version, doomed)
        shutil.rmtree(doomed, ignore_errors=True)
    except BlockingIOError:
        return  # in use; a later writer deletes it
    finally:
        if file is not None:
            file.close()
