# ruff: noqa: F811 - pytest fixtures imported from tests.bot.fixtures.processes are parameters here
"""django-q2 on the machine's real Redis when ``REDIS_URL`` is set (CI machines have one: no skip).

The processes use a Redis database number this test claims for itself (``SET NX`` on a claim key,
15 down to 8), and every key django-q2 wrote there is deleted afterwards. Results still land in the
project database (django-q2 saves them through the ORM), which the processes share with the test.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import redis

from tests.bot.fixtures.processes import MANAGE, ROOT, ChildDb, child_db, migrated_sqlite, runbot_env  # noqa: F401

pytestmark = pytest.mark.slow

REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
CLAIM = "blacksky-test:redis-broker:claim"
QUEUE = "django_q:blacksky:q"  # django-q2's list for the cluster named "blacksky" (settings.Q_CLUSTER)

ENQUEUE = """
from django.conf import settings
from django_q.brokers import get_broker
from django_q.models import Schedule
from django_q.scheduler import scheduler
from django_q.tasks import async_task

broker = get_broker()
print("broker", type(broker).__module__, type(broker).__name__, broker.info(), "orm" in settings.Q_CLUSTER)
print("task", async_task("math.hypot", 3, 4, group="redis-probe"))
Schedule.objects.create(func="math.floor", args="2.5", name="redis-probe-schedule", schedule_type=Schedule.ONCE)
scheduler(broker=broker)  # what the cluster's guard does every 30 s: due schedules go through the broker
"""


@pytest.fixture
def redis_db() -> Iterator[tuple[str, redis.Redis]]:
    """A Redis database number nobody else is using, emptied of django-q2 keys afterwards."""
    token = secrets.token_hex(8)
    try:
        redis.Redis.from_url(f"{REDIS}/0", socket_timeout=3).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS} ({exc}); CI machines run one on 127.0.0.1:6379")
    for number in range(15, 7, -1):
        client = redis.Redis.from_url(f"{REDIS}/{number}", socket_timeout=3)
        if client.set(CLAIM, token, nx=True, ex=600):
            break
    else:
        pytest.fail("every Redis database 8-15 is claimed by another test run")
    client.delete(QUEUE)
    try:
        yield f"{REDIS}/{number}", client
    finally:
        keys = list(client.scan_iter("django_q:blacksky:*"))
        if keys:
            client.delete(*keys)
        if client.get(CLAIM) == token.encode():
            client.delete(CLAIM)
        client.close()


def enqueue(env: dict[str, str]) -> dict[str, str]:
    result = subprocess.run(
        [sys.executable, MANAGE, "shell", "-v", "0", "-c", ENQUEUE],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)


def test_settings_pick_the_redis_broker_when_redis_url_is_set_and_the_orm_otherwise(runbot_env, redis_db):
    url, _ = redis_db
    probe = "from django_q.brokers import get_broker; b = get_broker(); print(type(b).__name__, b.ping())"
    env = {**runbot_env, "REDIS_URL": url}
    with_redis = subprocess.run(
        [sys.executable, MANAGE, "shell", "-v", "0", "-c", probe],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    env.pop("REDIS_URL")
    without = subprocess.run(
        [sys.executable, MANAGE, "shell", "-v", "0", "-c", probe],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert with_redis.stdout.split() == ["Redis", "True"], with_redis.stderr[-2000:]
    assert without.stdout.split()[0] == "ORM", without.stderr[-2000:]


def test_an_async_task_and_a_scheduled_one_run_through_the_redis_broker_in_the_workers_cluster(
    runbot_env, redis_db, child_db, tmp_path
):
    """The cluster is the one a ``runbot --all`` worker runs beside its sessions (one per worker)."""
    url, client = redis_db
    env = {**runbot_env, "REDIS_URL": url, "Q_WORKERS": "1"}
    out = enqueue(env)
    assert out["broker"].split()[:2] == ["django_q.brokers.redis_broker", "Redis"]
    assert out["broker"].split()[-1] == "False", "no ORM broker configured beside Redis"
    waiting = client.llen(QUEUE)
    assert waiting >= 2, "the async task and the due schedule wait in Redis until a cluster runs"
    assert child_db.rows("SELECT count(*) FROM django_q_ormq") == [(0,)], "nothing went to the ORM queue"

    log_path = tmp_path / "worker.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    worker = [sys.executable, MANAGE, "runbot", "--all", "--transport", "tests.support.memory_transport:MemoryTransport"]
    cluster = subprocess.Popen(worker, env=env, cwd=ROOT, stdout=log, stderr=log)
    started = time.monotonic()
    try:
        deadline = started + 60
        done: dict[str, tuple[str, bool]] = {}
        while time.monotonic() < deadline:
            rows = child_db.rows(
                'SELECT func, "group", success FROM django_q_task WHERE func IN (%s, %s)', ("math.hypot", "math.floor")
            )
            done = {func: (group, bool(success)) for func, group, success in rows}
            if len(done) == 2:
                break
            assert cluster.poll() is None, log_path.read_text()[-3000:]
            time.sleep(0.1)
        ran_in = time.monotonic() - started
        expected = {"math.hypot": ("redis-probe", True), "math.floor": ("redis-probe-schedule", True)}
        assert done == expected, log_path.read_text()[-3000:]
        assert client.llen(QUEUE) == 0, "the cluster consumed the Redis queue"
        print(f"django-q2 on Redis: {waiting} queued tasks ran {ran_in:.2f} s after the cluster started")
    finally:
        cluster.terminate()
        try:
            code = cluster.wait(30)
        except subprocess.TimeoutExpired:
            cluster.kill()
            code = cluster.wait()
        log.close()
    assert code == 0, log_path.read_text()[-3000:]
    assert log_path.read_text().count("scheduler started") == 1
    assert child_db.rows("SELECT id FROM django_q_schedule WHERE name = %s", ("redis-probe-schedule",)) == []
