"""The django-q2 cluster that runs beside the bot in the worker (scheduled backups, retention).

It forks, so it starts before any thread of the supervisor, and it stops within the shutdown
grace (terminated if it hangs). Every process it forks is told (Linux ``PR_SET_PDEATHSIG``) to get
SIGTERM when the process that forked it dies: a SIGKILLed worker on a VM or in a container that keeps
running must not leave a cluster behind that goes on running tasks and respawning workers (a Heroku
dyno stop kills every process anyway).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

from django.db import connection

logger = logging.getLogger(__name__)


PR_SET_PDEATHSIG = 1
_forking_parent = [0]  # the pid that is forking, read by the new child
_registered = False


def _note_parent() -> None:
    _forking_parent[0] = os.getpid()


def _die_with_parent() -> None:
    """In a process the cluster forked: SIGTERM when its parent dies (and now, if it already has)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: nothing to ask for
        return
    if os.getppid() != _forking_parent[0]:  # the parent died between the fork and the prctl
        os.kill(os.getpid(), signal.SIGTERM)


def _cluster_dies_with_its_parent() -> None:
    global _registered
    if not _registered:
        os.register_at_fork(before=_note_parent, after_in_child=_die_with_parent)
        _registered = True


def scheduler_start(*, install_signal_handlers: Callable[[], None]) -> Any:
    """Start a django-q2 cluster in this process (one per worker); it forks, so call it before any thread."""
    from django_q.cluster import Cluster

    _cluster_dies_with_its_parent()
    connection.close()  # the cluster forks: no shared database socket
    cluster = Cluster()
    install_signal_handlers()  # Cluster() installed its own
    cluster.start()
    return cluster


def scheduler_stop(cluster: Any, *, timeout: float) -> None:
    """Stop a cluster from :func:`scheduler_start` within ``timeout`` seconds, terminating it if it hangs."""
    if cluster is None:
        return
    stopper = threading.Thread(target=cluster.stop, name="scheduler-stop", daemon=True)
    stopper.start()
    stopper.join(max(0.5, timeout))
    if stopper.is_alive() and cluster.sentinel is not None and cluster.sentinel.is_alive():
        logger.warning("scheduler did not stop in time; terminating it")
        cluster.sentinel.terminate()
