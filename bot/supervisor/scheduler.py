"""The django-q2 cluster that runs beside the bot in the worker (scheduled backups, retention).

It forks, so it starts before any thread of the supervisor, and it stops within the shutdown
grace (terminated if it hangs).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from django.db import connection

logger = logging.getLogger(__name__)


def scheduler_start(*, install_signal_handlers: Callable[[], None]) -> Any:
    """Start a django-q2 cluster in this process (one per worker); it forks, so call it before any thread."""
    from django_q.cluster import Cluster

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
