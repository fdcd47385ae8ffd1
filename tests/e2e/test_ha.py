"""High availability with real processes: a three-member etcd cluster (Debian's etcd-server) and
three magnumd replicas on it, loopback only. Every replica serves the API; exactly one leads the
controllers. A SIGKILLed leader is replaced within 20 s (lease 15 s, retry 2 s); a SIGSTOPped
leader whose lease expired does not act when resumed: it finds its term over and exits."""
import base64
import json
import os
import shutil
import signal
import time

import pytest

from conftest import Process, free_port, request, wait_ready
from reconcile_util import Cloud, Magnumd, cluster, converged, start_cloudsim, template, wait_for

ETCD = "/usr/bin/etcd"

pytestmark = pytest.mark.skipif(not os.access(ETCD, os.X_OK),
                                reason=f"{ETCD} is not installed (Debian package etcd-server)")


def start_etcd_cluster(tmp_path, procs):
    """Three members on loopback ports; returns their client URLs, data directories and
    processes."""
    members = [(f"m{i}", free_port(), free_port()) for i in range(3)]
    initial = ",".join(f"{name}=http://127.0.0.1:{peer}" for name, _, peer in members)
    base = "/dev/shm" if os.path.isdir("/dev/shm") else str(tmp_path)
    urls, dirs, members_procs = [], [], []
    for name, client, peer in members:
        data = os.path.join(base, f"magnumd-ha-{os.getpid()}-{name}")
        dirs.append(data)
        shutil.rmtree(data, ignore_errors=True)
        url = f"http://127.0.0.1:{client}"
        proc = Process([ETCD, f"--name={name}", f"--data-dir={data}",
                        f"--listen-client-urls={url}", f"--advertise-client-urls={url}",
                        f"--listen-peer-urls=http://127.0.0.1:{peer}",
                        f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                        f"--initial-cluster={initial}", "--initial-cluster-state=new",
                        "--heartbeat-interval=50", "--election-timeout=500"],
                       client, str(tmp_path / f"etcd-{name}.log"))
        procs.append(proc)
        members_procs.append(proc)
        urls.append(url)
    for url in urls:
        wait_ready(url, "/health", timeout=30)
    return urls, dirs, members_procs


class Replicas:
    """Three magnumd replicas on one etcd prefix and one cloud, sharing the encryption key."""

    def __init__(self, tmp_path, procs, etcd_urls, clouds_yaml):
        key = tmp_path / "encryption.key"
        key.write_text(base64.b64encode(os.urandom(32)).decode() + "\n")
        os.chmod(key, 0o600)
        self.members = []
        self.audit_files = [str(tmp_path / f"audit{i}.jsonl") for i in range(3)]
        for i in range(3):
            self.members.append(Magnumd(
                tmp_path, procs, clouds_yaml=clouds_yaml, data_dir=str(tmp_path / f"replica{i}"),
                extra=["--store", "etcd", "--etcd-endpoints", ",".join(etcd_urls),
                       "--etcd-prefix", "/ha", "--replica-id", f"replica{i}",
                       "--encryption-key-file", str(key), "--audit-file", self.audit_files[i],
                       "--orphan-grace", "2", "--failed-retry", "2"]))

    def roles(self):
        out = {}
        for m in self.members:
            if m.proc.proc.poll() is not None:
                continue
            try:
                status, _, body = request("GET", m.url + "/version", timeout=2)
            except OSError:
                continue
            if status == 200:
                out[body["replica"]] = body
        return out

    def leader(self):
        """The replica that leads, once every one that answers agrees; None before that."""
        roles = self.roles()
        leaders = [r for r, v in roles.items() if v["role"] == "leader"]
        if len(leaders) != 1:
            return None
        if any(v["leader"] != leaders[0] for v in roles.values()):
            return None
        return self.by_id(leaders[0])

    def by_id(self, replica):
        return self.members[int(replica.removeprefix("replica"))]

    def any_follower(self, leader):
        return next(m for m in self.members if m is not leader and m.proc.proc.poll() is None)

    def audit_events(self):
        """Every replica's audit notifications: (replica index, event_type, outcome, target
        id)."""
        out = []
        for i, path in enumerate(self.audit_files):
            if not os.path.exists(path):
                continue
            with open(path) as f:
                for line in f:
                    if line.strip():
                        m = json.loads(line)
                        out.append((i, m["event_type"], m["payload"]["outcome"],
                                    m["payload"]["target"]["id"]))
        return out


def mservices(m):
    status, _, body = m.call("GET", "/v1/mservices")
    assert status == 200, body
    return {s["host"]: s for s in body["mservices"]}


def cloud_changes(cloud):
    """Requests that change the cloud (Heat's and Nova's POST, PATCH, PUT and DELETE), by kind."""
    return {k: v for k, v in cloud.stats()["requests"].items()
            if k.split(" ")[0] in ("heat", "nova")
            and k.split(" ")[1] in ("POST", "PATCH", "PUT", "DELETE")}


@pytest.fixture
def ha(tmp_path, procs):
    urls, dirs, members = start_etcd_cluster(tmp_path, procs)
    try:
        sim, clouds = start_cloudsim(tmp_path, procs)
        replicas = Replicas(tmp_path, procs, urls, clouds)
        replicas.etcd = members
        yield replicas, Cloud(sim.url)
    finally:
        for data in dirs:  # /dev/shm outlives the test otherwise
            shutil.rmtree(data, ignore_errors=True)


def test_a_killed_leader_is_replaced_within_20s_and_clusters_converge(ha):
    """20 clusters, created 4 at a time, each batch followed by a SIGKILL of the leader while
    their stacks build (5 kills)."""
    replicas, cloud = ha
    leader = wait_for(replicas.leader, 30, "one leader all replicas agree on")
    api = replicas.any_follower(leader)  # followers serve the API too
    api.apply(template())
    desired = {}
    for kill in range(5):
        for i in range(4):
            name = f"c{4 * kill + i}"
            api.apply(cluster(name, 1, 1))
            desired[name] = 1
        time.sleep(1)  # mid-way: stacks building
        leader.proc.kill()  # SIGKILL
        killed_at = time.monotonic()
        new = wait_for(lambda: replicas.leader(), 25, f"a new leader after kill {kill + 1}")
        took = time.monotonic() - killed_at
        assert new is not leader
        assert took < 20, f"a new leader only after {took:.1f}s"
        api = new  # the next batch goes through the new leader: it must act on it
        leader.proc.start()  # back as a follower
        wait_ready(leader.url, "/readyz", timeout=60, proc=leader.proc)
        assert wait_for(lambda: replicas.roles().get(f"replica{replicas.members.index(leader)}"),
                        30, "the restarted replica")["role"] == "follower"
        leader = new

    assert len(desired) == 20
    wait_for(lambda: converged(api, cloud, desired, set()) is None, 180,
             f"convergence ({converged(api, cloud, desired, set())})")
    assert len(cloud.stacks()) == len(desired)  # one stack per cluster, none doubled
    assert len(cloud.servers()) == 2 * len(desired)
    # cloudsim saw one stack create per cluster: no replica repeated another's.
    creates = cloud.stats()["requests"].get("heat POST /stacks", 0)
    assert creates == len(desired), cloud_changes(cloud)
    # An outcome is reported by the leader only: never twice for one cluster, whichever replicas
    # saw it (one may be lost with a leader killed between its status write and its report).
    successes = [uid for _, kind, outcome, uid in replicas.audit_events()
                 if kind == "magnum.cluster.create" and outcome == "success"]
    assert len(successes) == len(set(successes)), successes


def stopped(pid):
    """Whether the kernel shows process `pid` stopped by a signal (state T in /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] == "T"


def test_a_paused_leader_does_not_act_when_resumed(ha):
    replicas, cloud = ha
    old = wait_for(replicas.leader, 30, "one leader all replicas agree on")
    api = replicas.any_follower(old)
    api.apply(template())
    api.apply(cluster("before", 1, 1))
    wait_for(lambda: converged(api, cloud, {"before": 1}, set()) is None, 60, "the first cluster")

    old.proc.proc.send_signal(signal.SIGSTOP)
    # kill() returns before the signal has stopped every thread: until the kernel shows the
    # process stopped, it may still answer /version as the leader (a run that did saw `new is old`).
    wait_for(lambda: stopped(old.proc.proc.pid), 10, "the paused replica stopped")
    # The paused replica answers nothing; the others agree on a new leader once its lease expired.
    new = wait_for(lambda: (lambda m: m if m is not old else None)(replicas.leader()), 30,
                   "another leader while the old one is paused")
    # While the old leader sleeps, the new one builds a cluster the old one has never seen.
    new.apply(cluster("during", 1, 1))
    wait_for(lambda: converged(new, cloud, {"before": 1, "during": 1}, set()) is None, 60,
             "the cluster made under the new leader")
    changes = cloud_changes(cloud)

    old.proc.proc.send_signal(signal.SIGCONT)
    # It finds its term over (renewal late by far more than the renew deadline) and exits,
    # for its supervisor to restart it as a follower.
    old.proc.proc.wait(timeout=30)
    assert old.proc.proc.returncode == 75, old.proc.output()[-3000:]
    assert "lost the leadership" in old.proc.output()
    time.sleep(2)
    assert cloud_changes(cloud) == changes  # everything converged: nobody had to act
    assert converged(new, cloud, {"before": 1, "during": 1}, set()) is None
    assert len(cloud.stacks()) == 2


def test_writes_need_an_etcd_quorum_and_no_acknowledged_write_is_lost(ha):
    replicas, _ = ha
    wait_for(replicas.leader, 30, "one leader all replicas agree on")
    acknowledged = []  # every write a replica answered 201, whichever replica took it

    def write(name):
        m = replicas.members[len(acknowledged) % len(replicas.members)]
        status, _, body = m.call("POST", m.path("ClusterTemplate"), template(name))
        if status == 201:
            acknowledged.append(name)
        return status, body

    def writes_succeed(prefix, count, timeout):
        """`count` writes acknowledged within `timeout` s (a write caught by an etcd election
        may fail and is not counted)."""
        deadline, done, i = time.monotonic() + timeout, 0, 0
        while done < count and time.monotonic() < deadline:
            status, _ = write(f"{prefix}-{i}")
            i += 1
            done += status == 201
        assert done == count, f"{done} of {count} writes acknowledged within {timeout}s"

    writes_succeed("before", 10, 30)

    # One member of three down: the other two are a quorum and writes go on.
    replicas.etcd[0].kill()
    writes_succeed("one-down", 10, 30)

    # Two down: no quorum. A write is refused with 503 and a reason, not acknowledged, and
    # objects already read stay readable.
    replicas.etcd[1].kill()
    refused = None
    for i in range(5):
        status, body = write(f"no-quorum-{i}")
        if status != 201:
            refused = (status, body)
            break
    assert refused is not None, "writes acknowledged without an etcd quorum"
    assert refused[0] == 503, refused
    assert refused[1]["message"], refused
    m = replicas.members[0]
    status, _, shown = m.call("GET", m.path("ClusterTemplate", acknowledged[0]))
    assert status == 200, shown
    # ... and say they may be stale (kubectl prints the Warning), on every replica and both APIs,
    # once the remaining member has ended the replicas' `hasleader` watches.

    def warning(m, path):
        status, headers, body = m.call("GET", path)
        assert status == 200, body
        return headers.get("Warning")

    for m in replicas.members:
        said = wait_for(lambda: warning(m, m.path("ClusterTemplate", acknowledged[0])), 30,
                        "a stale-read warning")
        assert said.startswith('299 - "the store lost contact with its etcd quorum at '), said
        assert warning(m, m.path("ClusterTemplate")) == said  # a list
        assert warning(m, "/v1/clustertemplates") == said

    # A member back: a quorum again, and writes go on.
    replicas.etcd[1].start()
    writes_succeed("recovered", 10, 60)
    for m in replicas.members:
        wait_for(lambda: warning(m, m.path("ClusterTemplate")) is None, 30,
                 "reads without the stale-read warning")
    replicas.etcd[0].start()
    writes_succeed("all-up", 5, 60)

    # Every acknowledged write is there, through every replica.
    for m in replicas.members:
        status, _, listed = m.call("GET", m.path("ClusterTemplate"))
        assert status == 200, listed
        names = {o["metadata"]["name"] for o in listed["items"]}
        missing = [n for n in acknowledged if n not in names]
        assert not missing, f"acknowledged but lost: {missing}"


def test_every_replica_lists_every_replica_as_a_conductor_and_audits_once(ha):
    """Magnum's /v1/mservices answers the same on every replica: one magnum-conductor row per
    replica, up while it reports, down once a killed one has been silent for the heartbeat
    timeout (30 s). A cluster's life is audited once: its pending event by the replica whose API
    took the write, its outcome by the leader only."""
    replicas, cloud = ha
    leader = wait_for(replicas.leader, 30, "one leader all replicas agree on")
    hosts = {"replica0", "replica1", "replica2"}

    def all_up(m):
        rows = mservices(m)
        return set(rows) == hosts and all(r["state"] == "up" for r in rows.values())

    for m in replicas.members:
        wait_for(lambda: all_up(m), 30, f"every replica up on {m.url}")

    follower = replicas.any_follower(leader)
    follower.apply(template())
    follower.apply(cluster("audited", 1, 1))
    wait_for(lambda: converged(follower, cloud, {"audited": 1}, set()) is None, 60, "the cluster")
    uid = follower.get("Cluster", "audited")["metadata"]["uid"]
    i_follower, i_leader = replicas.members.index(follower), replicas.members.index(leader)

    def audited():
        return sorted((i, kind, outcome) for i, kind, outcome, target in replicas.audit_events()
                      if target == uid)
    wait_for(lambda: len(audited()) >= 2, 30, "the cluster's audit events")
    time.sleep(1)  # a duplicate from another replica's watch would be written by now
    assert audited() == sorted([(i_follower, "magnum.cluster.create", "pending"),
                                (i_leader, "magnum.cluster.create", "success")])

    # A killed follower stops reporting: the others show it down after the heartbeat timeout,
    # and up again, its count continued, once it is back.
    victim = next(m for m in replicas.members if m is not leader and m is not follower)
    victim_id = f"replica{replicas.members.index(victim)}"
    count = mservices(leader)[victim_id]["report_count"]
    victim.proc.kill()
    killed_at = time.monotonic()
    wait_for(lambda: mservices(leader)[victim_id]["state"] == "down", 60, "the killed replica down")
    took = time.monotonic() - killed_at
    assert took >= 25, f"down after {took:.1f}s, before its reports could be overdue"
    rows = mservices(follower)
    assert rows[victim_id]["state"] == "down", rows
    assert all(r["state"] == "up" for h, r in rows.items() if h != victim_id), rows
    victim.proc.start()
    wait_ready(victim.url, "/readyz", timeout=60, proc=victim.proc)
    for m in replicas.members:
        wait_for(lambda: all_up(m), 30, f"every replica up again on {m.url}")
    assert mservices(victim)[victim_id]["report_count"] > count
