"""Finding a free X display number for the benchmark scripts."""

import os
import sys


def lock_is_live(number):
    """Whether /tmp/.X{number}-lock names a running process (a killed X server leaves
    its lock behind; the next server on that number removes a stale one itself)."""
    try:
        with open(f"/tmp/.X{number}-lock") as lock:
            pid = int(lock.read().strip())
    except (OSError, ValueError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def free_display(first, last):
    """The first display in [first, last) with no live server; exits if none."""
    for number in range(first, last):
        socket = f"/tmp/.X11-unix/X{number}"
        if not lock_is_live(number):
            if os.path.exists(socket) and not os.path.exists(f"/tmp/.X{number}-lock"):
                continue
            return f":{number}"
    sys.exit(f"no free X display between :{first} and :{last - 1}")
