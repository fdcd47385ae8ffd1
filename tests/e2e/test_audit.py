"""Audit notifications end to end: `magnumd --dev --audit-file ... --audit-amqp-url ...` against a
real rabbitmq-server on 127.0.0.1 (its own port, node name, data and log directories, HOME and
Erlang cookie). One cluster's life — create, scale, delete — reaches both the JSON-lines file and
the broker as Magnum's CADF notifications in oslo.messaging's envelope, pending then success. The
broker is stopped in the middle: reconciles go on, the AMQP sink buffers (and drops beyond
--audit-queue-size, counted), and delivery resumes when the broker is back."""
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import time

import pytest

from conftest import free_port, request
from reconcile_util import Cloud, Magnumd, cluster, template, wait_for

amqp = pytest.importorskip("amqp", reason="python3-amqp is not installed (scripts/install-deps.sh)")

# As root, /usr/sbin/rabbitmq-server switches to the rabbitmq user; the script it wraps runs the
# broker as whoever starts it, with the environment below.
RABBITMQ = next((p for p in ("/usr/lib/rabbitmq/bin/rabbitmq-server", shutil.which("rabbitmq-server"))
                 if p and os.access(p, os.X_OK)), None)
EXCHANGE = "magnum"
AMQP_USER = "magnum"
AMQP_PASSWORD = "audit-e2e-Secret-7"


class Broker:
    """rabbitmq-server in a temporary directory; stop() and start() keep its data."""

    def __init__(self, root):
        self.root = root
        self.port = free_port()
        self.dist_port = free_port()
        self.epmd_port = free_port()
        home = root / "home"
        for d in ("home", "mnesia", "log"):
            (root / d).mkdir(parents=True, exist_ok=True)
        cookie = home / ".erlang.cookie"
        cookie.write_text("magnumd-audit-e2e-cookie")
        os.chmod(cookie, 0o400)
        (root / "enabled_plugins").write_text("[].\n")
        (root / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = 127.0.0.1:{self.port}\n"
            f"default_user = {AMQP_USER}\ndefault_pass = {AMQP_PASSWORD}\n")
        self.env = dict(os.environ, HOME=str(home), RABBITMQ_NODENAME="rabbit-test@localhost",
                        RABBITMQ_NODE_IP_ADDRESS="127.0.0.1", RABBITMQ_NODE_PORT=str(self.port),
                        RABBITMQ_DIST_PORT=str(self.dist_port),
                        RABBITMQ_MNESIA_BASE=str(root / "mnesia"),
                        RABBITMQ_LOG_BASE=str(root / "log"), RABBITMQ_LOGS="-",
                        RABBITMQ_CONFIG_FILE=str(root / "rabbitmq"),
                        RABBITMQ_ENABLED_PLUGINS_FILE=str(root / "enabled_plugins"),
                        RABBITMQ_PID_FILE=str(root / "rabbitmq.pid"),
                        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}",
                        ERL_EPMD_ADDRESS="127.0.0.1", ERL_EPMD_PORT=str(self.epmd_port))
        self.proc = None
        self.log = None

    def url(self):
        return f"amqp://{AMQP_USER}:{AMQP_PASSWORD}@127.0.0.1:{self.port}/"

    def start(self):
        self.log = open(self.root / "broker.log", "ab")
        self.proc = subprocess.Popen([RABBITMQ], stdout=self.log, stderr=subprocess.STDOUT,
                                     env=self.env, start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"rabbitmq-server exited with {self.proc.returncode}:\n"
                                   f"{self.output()[-3000:]}")
            try:
                self.connect().close()
                return
            except (OSError, amqp.exceptions.AMQPError):
                time.sleep(0.3)
        raise TimeoutError(f"rabbitmq-server not ready after 90 s:\n{self.output()[-3000:]}")

    def connect(self):
        c = amqp.Connection(f"127.0.0.1:{self.port}", userid=AMQP_USER, password=AMQP_PASSWORD,
                            connect_timeout=2)
        c.connect()
        return c

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.log:
            self.log.close()
            self.log = None

    def kill_epmd(self):
        epmd = shutil.which("epmd")
        if epmd:
            subprocess.run([epmd, "-kill"], env=self.env, capture_output=True, timeout=10)

    def output(self):
        with open(self.root / "broker.log", "rb") as f:
            return f.read().decode(errors="replace")


@pytest.fixture
def broker(tmp_path):
    if RABBITMQ is None:
        pytest.skip("rabbitmq-server is not installed (scripts/install-deps.sh installs it)")
    b = Broker(tmp_path / "rabbitmq")
    b.start()
    yield b
    b.stop()
    b.kill_epmd()


class Queue:
    """A queue on the broker, read with basic.get: each message's routing key, properties and
    oslo.messaging envelope, unwrapped."""

    def __init__(self, broker, name, declare=None):
        self.conn = broker.connect()
        self.channel = self.conn.channel()
        self.name = name
        if declare:
            # The exchange as magnumd (and oslo.messaging) declares it: topic, not durable.
            self.channel.exchange_declare(EXCHANGE, "topic", durable=False, auto_delete=False)
            self.channel.queue_declare(name, durable=False, auto_delete=False)
            self.channel.queue_bind(name, EXCHANGE, routing_key=declare)

    def take(self, n, timeout=30):
        got = []

        def more():
            while True:
                try:
                    m = self.channel.basic_get(self.name, no_ack=True)
                except amqp.exceptions.NotFound:  # not declared (again) yet
                    self.channel = self.conn.channel()
                    return False
                if m is None:
                    break
                envelope = json.loads(m.body)
                got.append({"routing_key": m.delivery_info["routing_key"],
                            "properties": dict(m.properties), "envelope": envelope,
                            "message": json.loads(envelope["oslo.message"])})
            return len(got) >= n
        wait_for(more, timeout, f"{n} notifications in queue {self.name}")
        return got

    def close(self):
        self.conn.close()


def events(messages, uid):
    return [(m["event_type"], m["payload"]["outcome"]) for m in messages
            if m["payload"]["target"]["id"] == uid]


def file_messages(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def metric(m, name, sink="amqp"):
    status, _, text = request("GET", m.url + "/metrics", token=m.token, accept="text/plain")
    assert status == 200
    found = re.search(rf'^{name}{{sink="{sink}"}} ([0-9.e+]+)$', text, re.M)
    return float(found.group(1)) if found else None


CREATE = [("magnum.cluster.create", "pending"), ("magnum.cluster.create", "success")]
UPDATE = [("magnum.cluster.update", "pending"), ("magnum.cluster.update", "success")]
DELETE = [("magnum.cluster.delete", "pending"), ("magnum.cluster.delete", "success")]


def test_a_clusters_life_reaches_the_file_and_the_broker_and_survives_a_broker_outage(
        tmp_path, procs, broker):
    audit_file = str(tmp_path / "audit" / "cadf.jsonl")
    os.makedirs(os.path.dirname(audit_file))
    tokens = tmp_path / "tokens.csv"
    tokens.write_text("alice-token,alice,demo,member\n")
    mine = Queue(broker, "audit-e2e", declare="notifications.*")
    m = Magnumd(tmp_path, procs, extra=[
        "--token-file", str(tokens), "--audit-file", audit_file,
        "--audit-amqp-url", broker.url(), "--audit-exchange", EXCHANGE,
        "--audit-queue-size", "2"])
    m.apply(template())  # as the dev admin; the cluster as alice, a member of demo
    m.token = "alice-token"
    created = m.apply(cluster("prod", masters=1, workers=1))
    uid = created["metadata"]["uid"]
    m.wait_phase("prod", "CREATE_COMPLETE", timeout=90)

    got = mine.take(2)
    assert events([g["message"] for g in got], uid) == CREATE
    for g in got:
        assert g["routing_key"] == "notifications.info"
        assert g["properties"]["content_type"] == "application/json"
        assert g["envelope"]["oslo.version"] == "2.0"
        assert re.fullmatch(r"[0-9a-f]{32}", g["message"]["_unique_id"])
    pending = got[0]["message"]
    assert pending["publisher_id"].startswith("container-infra.")
    assert pending["priority"] == "INFO"
    payload = pending["payload"]
    assert payload["typeURI"] == "http://schemas.dmtf.org/cloud/audit/1.0/event"
    assert payload["eventType"] == "activity" and payload["action"] == "create"
    assert payload["initiator"]["typeURI"] == "service/security/account/user"
    assert payload["initiator"]["id"] == "alice" and payload["initiator"]["project_id"] == "demo"
    assert payload["target"]["typeURI"] == "service/magnum/cluster"
    assert payload["target"]["name"] == "prod"
    assert got[1]["message"]["payload"]["initiator"]["id"] == "alice"  # who asked, on the outcome

    # A scale: one update, pending when accepted, success when UPDATE_COMPLETE.
    m.patch("Cluster", "prod", {"spec": {"nodeCount": 2}})
    m.wait_phase("prod", "UPDATE_COMPLETE", timeout=90)
    assert events([g["message"] for g in mine.take(2)], uid) == UPDATE
    mine.close()

    # The broker goes away. Reconciles do not wait for it: two more scales complete, while the
    # AMQP sink holds one notification in hand, queues two (--audit-queue-size 2) and drops one.
    broker.stop()
    for count in (3, 1):
        m.patch("Cluster", "prod", {"spec": {"nodeCount": count}})
        m.wait_phase("prod", "UPDATE_COMPLETE", timeout=90)
        assert m.get("Cluster", "prod")["status"]["nodeCount"] == count
    wait_for(lambda: metric(m, "magnumd_audit_dropped_total") == 1, 30, "one AMQP drop")
    assert metric(m, "magnumd_audit_queued") == 2
    assert metric(m, "magnumd_audit_sink_up") == 0
    assert metric(m, "magnumd_audit_dropped_total", sink="file") in (None, 0)
    wait_for(lambda: events(file_messages(audit_file), uid) == CREATE + UPDATE * 3, 30,
             "the file to have every event meanwhile")

    # Back again: magnumd reconnects by itself, declares oslo.messaging's default queue
    # notifications.info again (the broker's transient queues went with it) and delivers what
    # it buffered, oldest first.
    broker.start()
    default = Queue(broker, "notifications.info")
    got = default.take(3, timeout=60)
    assert events([g["message"] for g in got], uid) == UPDATE + UPDATE[:1]
    wait_for(lambda: metric(m, "magnumd_audit_sink_up") == 1, 30, "the AMQP sink up again")
    assert metric(m, "magnumd_audit_queued") == 0

    m.delete("Cluster", "prod")
    m.wait_gone("Cluster", "prod", timeout=90)
    assert events([g["message"] for g in default.take(2)], uid) == DELETE
    default.close()

    wait_for(lambda: events(file_messages(audit_file), uid) == CREATE + UPDATE * 3 + DELETE, 30,
             "the file to have the whole life")
    everything = file_messages(audit_file)
    assert all(e["priority"] == "INFO" for e in everything)
    assert stat.S_IMODE(os.stat(audit_file).st_mode) == 0o600
    log = m.proc.output()
    assert AMQP_PASSWORD not in log
    assert f"amqp://{AMQP_USER}:***@127.0.0.1:{broker.port}/" in log


def test_an_oslo_messaging_notification_listener_reads_them_as_magnums(tmp_path, procs, broker):
    """What Ceilometer runs: oslo.messaging's own notification listener on topic notifications,
    exchange magnum, decodes magnumd's notifications and dispatches them by priority: a create
    that succeeds as info, one the cloud refuses as error, with the cloud's reason."""
    oslo_messaging = pytest.importorskip(
        "oslo_messaging", reason="python3-oslo.messaging is not installed (scripts/install-deps.sh)")
    from oslo_config import cfg

    received = []

    class Endpoint:
        def info(self, ctxt, publisher_id, event_type, payload, metadata):
            received.append(("INFO", publisher_id, event_type, payload, metadata))

        def error(self, ctxt, publisher_id, event_type, payload, metadata):
            received.append(("ERROR", publisher_id, event_type, payload, metadata))

    conf = cfg.ConfigOpts()
    conf([], project="magnumd-e2e")
    transport = oslo_messaging.get_notification_transport(
        conf, url=broker.url().replace("amqp://", "rabbit://"))
    listener = oslo_messaging.get_notification_listener(
        transport, [oslo_messaging.Target(topic="notifications", exchange=EXCHANGE)], [Endpoint()],
        executor="threading")
    listener.start()
    try:
        m = Magnumd(tmp_path, procs, extra=["--audit-amqp-url", broker.url()])
        m.apply(template())
        uid = m.apply(cluster("prod", masters=1, workers=1))["metadata"]["uid"]
        m.wait_phase("prod", "CREATE_COMPLETE", timeout=90)
        wait_for(lambda: len(received) >= 2, 30, "two notifications through oslo.messaging")
        Cloud(m.sim_url()).faults(
            {"fail_stack_create": {"count": 1000, "reason": "No valid host was found"}})
        broken = m.apply(cluster("broken", 1, 1))["metadata"]["uid"]
        m.wait_phase("broken", "CREATE_FAILED", timeout=60)
        wait_for(lambda: len(received) >= 4, 30, "the failed create's notifications")
    finally:
        listener.stop()
        listener.wait()
        transport.cleanup()
    assert [(r[0], r[2], r[3]["outcome"], r[3]["target"]["id"]) for r in received[:4]] == [
        ("INFO", "magnum.cluster.create", "pending", uid),
        ("INFO", "magnum.cluster.create", "success", uid),
        ("INFO", "magnum.cluster.create", "pending", broken),
        ("ERROR", "magnum.cluster.create", "failure", broken)]
    failure = received[3][3]
    assert "No valid host was found" in failure["reason"]["reasonCode"], failure
    assert failure["target"]["attachments"][0]["content"]["status"] == "CREATE_FAILED"
    for priority, publisher_id, event_type, payload, metadata in received:
        assert publisher_id.startswith("container-infra.")
        assert payload["action"] == "create"
        assert payload["initiator"]["id"] == "admin"
        assert re.fullmatch(r"[0-9a-f-]{36}", metadata["message_id"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", metadata["timestamp"])
