#!/usr/bin/python3
"""Failover time of magnumd's leader election, with real processes on loopback.

A three-member etcd 3.4, cloudsim, and three magnumd replicas on one etcd prefix with the default
election timings (lease 15 s, renew deadline 10 s, retry 2 s), started by the HA e2e suite's own
helpers (tests/e2e/test_ha.py). --clusters clusters are created and converge first. Then --kills
times: SIGKILL the leader at a random point of its 2 s renewal cycle, create one cluster through
a surviving replica at once, and time, from the kill:

  lease gone    the old leader key (<prefix>/leader) is gone from etcd: its lease expired
  new key       a leader key with another creation revision exists: a follower won the campaign
  reconcile     the new leader's magnumd_controller_reconcile_total (/metrics, summed over its
                controllers, kinds and results) moved: its first reconcile pass finished
  new cluster   the cluster created right after the kill has a status written by a controller
                (status.observedGeneration set)

Each is polled every --poll seconds (default 0.05), so each sample is late by up to that much.
The killed replica is restarted, and must come back as a follower, before the next kill.

  bench/ha/failover.py --build build-bench [--kills 10] [--clusters 20]

Run by Debian's /usr/bin/python3: the e2e helpers it imports need python3-pytest and python3-yaml.
"""
import argparse
import base64
import os
import pathlib
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PREFIX = "/ha"  # test_ha.Replicas' --etcd-prefix

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--build", required=True, help="build directory with cmd/magnumd and cloudsim")
parser.add_argument("--kills", type=int, default=10)
parser.add_argument("--clusters", type=int, default=20, help="clusters present before the kills")
parser.add_argument("--poll", type=float, default=0.05, help="seconds between two observations")
parser.add_argument("--seed", type=int, default=1, help="seeds the pause before each kill")
parser.add_argument("--dir", help="logs and replica data (default: a new temporary directory)")
ARGS = parser.parse_args()

# The e2e helpers find the binaries through these, read when conftest is imported.
os.environ["MAGNUMD_BUILD_DIR"] = os.path.abspath(ARGS.build)
os.environ["MAGNUMD_SOURCE_DIR"] = SOURCE
sys.path.insert(0, os.path.join(SOURCE, "tests", "e2e"))
from conftest import request, wait_ready  # noqa: E402
from reconcile_util import Cloud, cluster, converged, start_cloudsim, template, wait_for  # noqa: E402
from test_ha import Replicas, start_etcd_cluster  # noqa: E402


def reconciles(replica):
    """The sum of a replica's magnumd_controller_reconcile_total series; None if it did not
    answer."""
    try:
        status, _, text = request("GET", replica.url + "/metrics", token=replica.token,
                                  accept="text/plain", timeout=2)
    except OSError:
        return None
    if status != 200:
        return None
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("magnumd_controller_reconcile_total"))


def leader_key(etcd_url):
    """(creation revision, holder) of the leader key, or None while there is none."""
    key = base64.b64encode(f"{PREFIX}/leader".encode()).decode()
    status, _, body = request("POST", etcd_url + "/v3/kv/range", {"key": key}, timeout=2)
    if status != 200 or not body.get("kvs"):
        return None
    kv = body["kvs"][0]
    return int(kv["create_revision"]), base64.b64decode(kv["value"]).decode()


def one_kill(replicas, etcd_url, number, poll):
    leader = wait_for(replicas.leader, 60, "one leader all replicas agree on")
    old_key = leader_key(etcd_url)
    survivors = [m for m in replicas.members if m is not leader]
    baseline = {id(m): reconciles(m) for m in survivors}
    name = f"after-kill-{number}"

    leader.proc.proc.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    survivors[0].apply(cluster(name, 1, 1))
    found = {}
    new_leader = None
    while len(found) < 4:
        now = time.monotonic() - killed
        if now > 120:
            raise RuntimeError(f"kill {number}: after 120 s only {sorted(found)}")
        key = leader_key(etcd_url)
        if "lease gone" not in found and (key is None or key[0] != old_key[0]):
            found["lease gone"] = now
        if "new key" not in found and key is not None and key[0] != old_key[0]:
            found["new key"] = now
        if "reconcile" not in found:
            for m in survivors:
                count = reconciles(m)
                if count is not None and baseline[id(m)] is not None and count > baseline[id(m)]:
                    found["reconcile"], new_leader = now, m
        if "new cluster" not in found:
            status = (survivors[0].get("Cluster", name) or {}).get("status", {})
            if status.get("observedGeneration"):
                found["new cluster"] = now
        time.sleep(poll)

    leader.proc.kill()  # collects the killed process and closes its log
    leader.proc.start()
    wait_ready(leader.url, "/readyz", timeout=60, proc=leader.proc)
    rid = f"replica{replicas.members.index(leader)}"
    role = wait_for(lambda: replicas.roles().get(rid), 30, f"{rid} back")["role"]
    assert role == "follower", f"{rid} came back as {role}"
    return (rid, f"replica{replicas.members.index(new_leader)}", found)


def main(args):
    work = pathlib.Path(args.dir or tempfile.mkdtemp(prefix="magnumd-failover-"))
    work.mkdir(parents=True, exist_ok=True)
    procs, dirs = [], []
    try:
        urls, dirs, _ = start_etcd_cluster(work, procs)
        sim, clouds = start_cloudsim(work, procs)
        replicas = Replicas(work, procs, urls, clouds)
        cloud = Cloud(sim.url)
        leader = wait_for(replicas.leader, 60, "one leader all replicas agree on")
        api = next(m for m in replicas.members if m is not leader)
        api.apply(template())
        desired = {f"c{i}": 1 for i in range(args.clusters)}
        for name in desired:
            api.apply(cluster(name, 1, 1))
        wait_for(lambda: converged(api, cloud, desired, set()) is None, 300,
                 f"{args.clusters} clusters converged")
        print(f"magnumd failover: etcd 3.4 x3, cloudsim, 3 replicas (lease 15 s, renew 10 s, "
              f"retry 2 s), {args.clusters} clusters converged; {args.kills} SIGKILLs of the "
              f"leader; seconds from the kill, polled every {args.poll} s; logs in {work}\n")
        columns = ["lease gone", "new key", "reconcile", "new cluster"]
        print("| kill | killed   | new leader | " + " | ".join(f"{c:>11}" for c in columns) + " |")
        print("|------|----------|------------|" + "|".join("-" * 13 for _ in columns) + "|")
        rng = random.Random(args.seed)
        samples = []
        for number in range(1, args.kills + 1):
            time.sleep(2 + rng.uniform(0, 2))  # a random point of the leader's renewal cycle
            killed, new, found = one_kill(replicas, urls[0], number, args.poll)
            samples.append(found)
            print(f"| {number:>4} | {killed:<8} | {new:<10} | "
                  + " | ".join(f"{found[c]:>11.2f}" for c in columns) + " |", flush=True)
        print(f"\nover {len(samples)} kills, seconds from the kill:\n")
        print("|        | " + " | ".join(f"{c:>11}" for c in columns) + " |")
        print("|--------|" + "|".join("-" * 13 for _ in columns) + "|")
        for label, pick in (("median", statistics.median), ("worst", max)):
            print(f"| {label:<6} | " + " | ".join(f"{pick(s[c] for s in samples):>11.2f}"
                                                for c in columns) + " |")
    finally:
        for p in procs:
            p.kill()
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main(ARGS)
