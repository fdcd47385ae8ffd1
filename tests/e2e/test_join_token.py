"""The join token stays valid for as long as the cluster lives: magnumd --join-token-ttl 1m, a
cluster of one master and one worker, then a scale-up after the expiration kubeadm init gave the
token. cloudsim's kube-apiserver expires bootstrap-token Secrets as kubeadm's token cleaner does
and refuses a join with an expired token, so the new worker joins only because magnumd rewrote
the Secret (read back through the real kubectl with `magnumctl config`, and through /sim/v1)."""
import base64
import json
import os
import shutil
import subprocess
import time
from datetime import datetime, timezone

from conftest import binary
from reconcile_util import Magnumd, NS, cluster, template, wait_for
from test_cluster_api import sim_cluster


def rfc3339(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def sim_token(m, stack_id):
    """The cluster's one bootstrap token as cloudsim holds it: (id, expiration), None when gone."""
    tokens = sim_cluster(m, stack_id)["bootstrap_tokens"]
    assert len(tokens) <= 1, tokens
    return (tokens[0]["id"], rfc3339(tokens[0]["expiration"])) if tokens else None


def kubectl_expiration(m, tmp_path, token_id):
    """The token Secret's data.expiration as the real kubectl reads it, or None without kubectl."""
    if shutil.which("kubectl") is None:
        return None
    env = dict(os.environ, MAGNUMD_URL=m.url, MAGNUMD_TOKEN=m.token)
    out = subprocess.run([binary("magnumctl"), "config", "prod", "-n", NS, "--dir",
                          str(tmp_path / "kube"), "--force"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    got = subprocess.run(["kubectl", "--kubeconfig", str(tmp_path / "kube" / "config"), "get",
                          "secret", "-n", "kube-system", f"bootstrap-token-{token_id}", "-o",
                          "jsonpath={.type} {.data.expiration}"],
                         capture_output=True, text=True, timeout=60)
    assert got.returncode == 0, got.stdout + got.stderr
    kind, expiration = got.stdout.split()
    assert kind == "bootstrap.kubernetes.io/token", got.stdout
    return rfc3339(base64.b64decode(expiration).decode())


def test_a_worker_added_after_the_first_expiration_joins(tmp_path, procs):
    m = Magnumd(tmp_path, procs, extra=["--join-token-ttl", "1m"])
    m.apply(template())
    m.apply(cluster("prod", masters=1, workers=1))
    stack_id = m.wait_settled("prod", timeout=120)["stackId"]
    token_id, first = sim_token(m, stack_id)
    # kubeadm init made it valid for the ttl from the master's boot (a second or so ago; the
    # bound leaves room for a slow machine, short of the half-life when magnumd rewrites it).
    assert 20 <= (first - datetime.now(timezone.utc)).total_seconds() <= 61, first
    assert kubectl_expiration(m, tmp_path, token_id) in (None, first)

    # magnumd rewrites the Secret at half its lifetime, with no other change to the cluster.
    def moved():
        token = sim_token(m, stack_id)
        return token if token and token[1] > first else None
    _, renewed = wait_for(moved, 45, "magnumd to move the token's expiration forward")
    seen = kubectl_expiration(m, tmp_path, token_id)
    assert seen is None or seen >= renewed, (seen, renewed)

    # Past the expiration kubeadm gave the token: without the rewrite the cleaner deletes it.
    time.sleep(max(0.0, (first - datetime.now(timezone.utc)).total_seconds() + 3))
    token = sim_token(m, stack_id)
    assert token is not None and token[1] > datetime.now(timezone.utc), token

    m.patch("Cluster", "prod", {"spec": {"nodeCount": 2}})
    m.wait_settled("prod", timeout=60)

    def joined():
        sim = sim_cluster(m, stack_id)
        workers = [n for n in sim["nodes"] if n["role"] == "worker"]
        return sim if len(workers) == 2 and all(n["ready"] for n in workers) else None
    sim = wait_for(joined, 30, "the new worker to join and be Ready")
    assert sim["join_refusals"] == [], sim["join_refusals"]
    assert sorted(n["name"] for n in sim["nodes"]) == [
        "prod-default-master-0", "prod-default-worker-0", "prod-default-worker-1"], sim["nodes"]
    reasons = [e["spec"]["reason"] for e in m.events("prod")]
    assert "JoinTokenRefreshFailed" not in reasons, json.dumps(m.events("prod"), indent=1)
