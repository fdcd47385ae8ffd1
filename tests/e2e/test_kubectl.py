"""The quick start, end to end: `magnumd --dev`, `magnumctl apply -f examples/`, `magnumctl config`,
then the real kubectl (the v1.32 dispatcher on PATH) against the cluster's API, which the embedded
cloudsim serves from what each server's user_data says. Every node of every node group must be a
Ready Node with its role; a certificate signed through `magnumctl ca sign` must work; a node whose
user_data carries a token the cluster does not know must stay out, and the Cluster must name it.
"""
import base64
import json
import os
import shutil
import sqlite3
import subprocess
import time

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from conftest import binary
from reconcile_util import Magnumd, NS, cluster, load_examples, start_cloudsim, template, wait_for

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH")


def magnumctl(m, *args, check=True):
    env = dict(os.environ, MAGNUMD_URL=m.url, MAGNUMD_TOKEN=m.token)
    out = subprocess.run([binary("magnumctl"), *args], capture_output=True, text=True, env=env,
                         timeout=60)
    if check:
        assert out.returncode == 0, f"magnumctl {' '.join(args)}: {out.stdout}{out.stderr}"
    return out


def kubectl(kubeconfig, *args, check=True):
    out = subprocess.run(["kubectl", "--kubeconfig", kubeconfig, *args], capture_output=True,
                         text=True, timeout=60)
    if check:
        assert out.returncode == 0, f"kubectl {' '.join(args)}: {out.stdout}{out.stderr}"
    return out


def nodes(kubeconfig):
    items = json.loads(kubectl(kubeconfig, "get", "nodes", "-o", "json").stdout)["items"]
    out = {}
    for n in items:
        ready = [c for c in n["status"]["conditions"] if c["type"] == "Ready"]
        out[n["metadata"]["name"]] = {
            "ready": bool(ready) and ready[0]["status"] == "True",
            "labels": n["metadata"].get("labels", {}),
            "version": n["status"]["nodeInfo"]["kubeletVersion"],
        }
    return out


@pytest.fixture
def prod(tmp_path, procs):
    m = Magnumd(tmp_path, procs)
    magnumctl(m, "apply", "-f", os.path.join(os.environ["MAGNUMD_SOURCE_DIR"], "examples"))
    m.wait_settled("prod", timeout=120)
    return m


def test_quick_start_ends_with_kubectl_get_nodes(prod, tmp_path):
    m = prod
    out = magnumctl(m, "config", "prod", "-n", NS, "--dir", str(tmp_path / "kube"))
    kubeconfig = str(tmp_path / "kube" / "config")
    assert f"export KUBECONFIG={kubeconfig}" in out.stdout
    assert oct(os.stat(kubeconfig).st_mode & 0o777) == "0o600"

    # Every server of every node group is a Ready Node with its role, group and version.
    wanted = {}
    for obj in load_examples():
        if obj["kind"] == "NodeGroup":
            wanted[obj["metadata"]["name"]] = obj["spec"]["nodeCount"]
    status = m.get("Cluster", "prod")["status"]
    seen = nodes(kubeconfig)
    assert len(seen) == len(status["masterAddresses"]) + len(status["nodeAddresses"]), seen
    groups = {}
    for name, node in seen.items():
        assert node["ready"], (name, node)
        assert node["version"] == "v1.32.4", node
        group = node["labels"]["magnum.openstack.org/nodegroup"]
        groups[group] = groups.get(group, 0) + 1
        role = node["labels"]["magnum.openstack.org/role"]
        assert (role == "master") == ("node-role.kubernetes.io/control-plane" in node["labels"]), node
    assert groups["default-master"] == 1 and groups["default-worker"] == 2, groups
    for group, count in wanted.items():
        assert groups[group] == count, groups

    # The plain table kubectl users read.
    table = kubectl(kubeconfig, "get", "nodes").stdout.splitlines()
    assert table[0].split()[:5] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"], table
    assert any("control-plane" in line for line in table[1:]), table
    assert kubectl(kubeconfig, "get", "--raw", "/healthz").stdout.strip() == "ok"
    version = json.loads(kubectl(kubeconfig, "version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"] == "v1.32.4"
    assert status["coeVersion"] == "v1.32.4"
    assert [ca["name"] for ca in status["certificateAuthorities"]] == ["cluster", "etcd", "front-proxy"]


def test_a_certificate_signed_by_magnumctl_ca_sign_works_with_kubectl(prod, tmp_path):
    m = prod
    d = tmp_path / "user"
    d.mkdir()
    subprocess.run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(d / "key.pem"), "-out", str(d / "csr.pem"), "-subj",
                    "/CN=alice/O=developers"], check=True, capture_output=True)
    cert = magnumctl(m, "ca", "sign", "prod", "-n", NS, "--csr", str(d / "csr.pem")).stdout
    (d / "cert.pem").write_text(cert)
    ca = magnumctl(m, "ca", "show", "prod", "-n", NS).stdout
    (d / "ca.pem").write_text(ca)
    verify = subprocess.run(["openssl", "verify", "-CAfile", str(d / "ca.pem"), str(d / "cert.pem")],
                            capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    server = m.get("Cluster", "prod")["status"]["apiAddress"]
    kubeconfig = str(d / "config")
    for args in (["config", "set-cluster", "prod", f"--server={server}",
                  f"--certificate-authority={d / 'ca.pem'}", "--embed-certs"],
                 ["config", "set-credentials", "alice", f"--client-certificate={d / 'cert.pem'}",
                  f"--client-key={d / 'key.pem'}", "--embed-certs"],
                 ["config", "set-context", "alice@prod", "--cluster=prod", "--user=alice"],
                 ["config", "use-context", "alice@prod"]):
        kubectl(kubeconfig, *args)
    assert kubectl(kubeconfig, "get", "--raw", "/healthz").stdout.strip() == "ok"
    assert len(nodes(kubeconfig)) == 5


def wrap(key, key_id, plaintext, aad):
    nonce = os.urandom(12)
    header = f"v1:{key_id}:"
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), (header + aad).encode())
    return header + base64.b64encode(nonce + sealed).decode()


def served_ca(m, kubeconfig_dir):
    """The CA a kubeconfig from magnumd trusts; kubectl checks the cluster's serving chain to it."""
    magnumctl(m, "config", "prod", "-n", NS, "--dir", kubeconfig_dir, "--force")
    kubeconfig = os.path.join(kubeconfig_dir, "config")
    assert kubectl(kubeconfig, "get", "--raw", "/healthz").stdout.strip() == "ok"
    return magnumctl(m, "ca", "show", "prod", "-n", NS).stdout


def test_sigkill_while_creating_never_makes_a_second_ca(tmp_path, procs):
    """magnumd killed at arbitrary moments of a create (the embedded simulator would die with it,
    so the cloud is a separate cloudsim): one ClusterSecret, and the CA every node was given is
    the one magnumd serves."""
    sim, clouds = start_cloudsim(tmp_path, procs)
    m = Magnumd(tmp_path, procs, clouds_yaml=clouds)
    m.apply(template())
    m.apply(cluster("prod", masters=1, workers=2))
    for delay in (0.05, 0.2, 0.4, 0.8, 1.5):
        time.sleep(delay)
        m.proc.kill()
        m.restart()
    m.wait_settled("prod", timeout=120)
    db = sqlite3.connect(os.path.join(m.data_dir, "magnumd.db"))
    rows = db.execute("SELECT name FROM objects WHERE kind='ClusterSecret'").fetchall()
    db.close()
    assert rows == [("prod",)], rows
    # Every node joined with what the one stored secret gave it.
    wait_for(lambda: (m.get("Cluster", "prod")["status"].get("api") or {}).get("readyNodes") == 3,
             60, "the cluster's API to list 3 Ready nodes")
    # A restart reads the stack's outputs again; until it has, the API address the stack gave
    # before stands (it used to fall back to the first master's fixed address for a moment).
    addresses = set()
    for _ in range(30):
        addresses.add(m.get("Cluster", "prod")["status"]["apiAddress"])
        time.sleep(0.1)
    assert len(addresses) == 1 and next(iter(addresses)).startswith("https://127.0.0.1:"), addresses
    ca = served_ca(m, str(tmp_path / "kube"))
    assert "BEGIN CERTIFICATE" in ca


def test_a_node_with_a_token_the_cluster_does_not_know_stays_out_and_is_named(tmp_path, procs):
    """Replaces the stored join token (re-encrypted with the real key, so only the token is
    wrong), restarts magnumd and scales up: the new worker's user_data carries the wrong token,
    kubeadm join would fail, so the node never appears and the Cluster says which one."""
    sim, clouds = start_cloudsim(tmp_path, procs)
    m = Magnumd(tmp_path, procs, clouds_yaml=clouds)
    m.apply(template())
    m.apply(cluster("prod", masters=1, workers=2))
    m.wait_settled("prod", timeout=120)
    before = set(m.get("Cluster", "prod")["status"]["nodeAddresses"])
    m.proc.kill()
    key = base64.b64decode(open(os.path.join(m.data_dir, "encryption.key")).read().strip())
    db = sqlite3.connect(os.path.join(m.data_dir, "magnumd.db"))
    (text,) = db.execute("SELECT object FROM objects WHERE kind='ClusterSecret' AND name='prod'").fetchone()
    obj = json.loads(text)
    wrapped = obj["spec"]["bootstrapToken"]
    key_id = wrapped.split(":")[1]
    uid = obj["spec"]["clusterUid"]
    obj["spec"]["bootstrapToken"] = wrap(key, key_id, "zzzzzz.zzzzzzzzzzzzzzzz", f"{uid}/bootstrap-token")
    db.execute("UPDATE objects SET object=? WHERE kind='ClusterSecret' AND name='prod'",
               (json.dumps(obj, separators=(",", ":")),))
    db.commit()
    db.close()
    m.restart()

    m.patch("Cluster", "prod", {"spec": {"nodeCount": 3}})

    def stuck():
        st = m.get("Cluster", "prod")["status"]
        cond = {c["type"]: c for c in st.get("conditions", [])}.get("NodesReady", {})
        return st if cond.get("status") == "False" and "prod-default-worker-" in cond.get("message", "") else None
    st = wait_for(stuck, 60, "NodesReady False naming the new worker")
    message = {c["type"]: c for c in st["conditions"]}["NodesReady"]["message"]
    assert len([a for a in st["nodeAddresses"] if a not in before]) == 1
    assert "prod-default-worker-2" in message, message
    # The master and the two workers that joined with the right token are still there and Ready.
    kubeconfig = str(tmp_path / "k")
    served_ca(m, kubeconfig)
    seen = nodes(os.path.join(kubeconfig, "config"))
    assert sorted(seen) == ["prod-default-master-0", "prod-default-worker-0",
                            "prod-default-worker-1"], seen
    assert all(n["ready"] for n in seen.values()), seen
