"""The process's open-file limit: raised once at start, and the connection cap derived from it.

Every connection, SQLite handle, session file and tool subprocess pipe is a file descriptor.
The usual soft limit (1,024) is far below the hard one, and running out mid-turn fails the
turn with EMFILE, so a long-running server raises its soft limit to the hard limit at start.
"""

from __future__ import annotations

import logging
import resource

log = logging.getLogger(__name__)

# Kept free for what is not a connection: the database, session files, tool processes.
RESERVED_DESCRIPTORS = 256
MAX_CONNECTIONS = 4096
MIN_CONNECTIONS = 32
# Linux refuses a soft limit above fs.nr_open (1,048,576 by default) even when the hard limit
# says unlimited.
CEILING = 1 << 20


def raise_open_file_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = CEILING if hard == resource.RLIM_INFINITY else min(hard, CEILING)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-file limit from %d to %d: %s", soft, target, exc)
    return CEILING if soft == resource.RLIM_INFINITY else soft


def connection_cap(open_file_limit: int) -> int:
    """How many connections to keep open at most, leaving room for everything else."""
    spare = open_file_limit - RESERVED_DESCRIPTORS
    return max(MIN_CONNECTIONS, min(MAX_CONNECTIONS, spare // 2))
