"""CA rotation end to end against `magnumd --dev` and its embedded cloudsim, whose simulated API
servers present, per connection, the serving certificate of one running master (as a load
balancer would) and whose kubelets trust what their user_data and cluster-info gave them:
`magnumctl ca rotate` rolls every node three times, the real kubectl works at every step with a
kubeconfig fetched at that step (and with one fetched once the new CA signs, to the end), the old
kubeconfig is rejected at the end, no worker is ever NotReady, and SIGKILLs anywhere in between
neither stop the rotation nor make a second new CA."""
import hashlib
import os
import shutil
import subprocess
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from conftest import binary, request
from reconcile_util import Cloud, Magnumd, cluster, start_cloudsim, template, wait_for
from test_cluster_api import sim_cluster

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH")


def magnumctl(m, *args, check=True):
    env = dict(os.environ, MAGNUMD_URL=m.url, MAGNUMD_TOKEN=m.token)
    out = subprocess.run([binary("magnumctl"), *args], capture_output=True, text=True, env=env,
                         timeout=60)
    if check:
        assert out.returncode == 0, f"magnumctl {' '.join(args)}: {out.stdout}{out.stderr}"
    return out


def fetch_kubeconfig(m, directory):
    magnumctl(m, "config", "prod", "-n", "demo", "--dir", str(directory), "--force")
    return str(directory / "config")


def get_nodes(kubeconfig):
    return subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "get", "nodes", "-o", "name"],
                          capture_output=True, text=True, timeout=60)


def ca_hash(pem):
    """kubeadm's caCertHashes pin of a PEM certificate: sha256 of its SubjectPublicKeyInfo."""
    cert = x509.load_pem_x509_certificate(pem.encode())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(spki).hexdigest()


def rotation(m):
    st = m.get("Cluster", "prod")["status"]
    return st, st.get("caRotation") or {}


def sim_timeline(m, stack_id, after=None):
    query = f"?after={after}" if after is not None else ""
    status, _, body = request("GET", f"{m.sim_url()}/sim/v1/clusters/{stack_id}/timeline{query}")
    assert status == 200, body
    return body


@pytest.fixture
def dev(tmp_path, procs):
    return Magnumd(tmp_path, procs, extra=["--api-probe-interval", "0.3"])


def test_a_rotation_keeps_kubectl_working_and_ends_the_old_kubeconfig(dev, tmp_path):
    m = dev
    m.apply(template())
    m.apply(cluster("prod", masters=1, workers=2))
    st = m.wait_phase("prod", "CREATE_COMPLETE", timeout=90)
    fingerprint = {ca["name"]: ca["fingerprint"] for ca in st["certificateAuthorities"]}
    old = fetch_kubeconfig(m, tmp_path / "old")
    assert get_nodes(old).returncode == 0
    started = sim_timeline(m, st["stackId"])["last_seq"]

    out = magnumctl(m, "ca", "rotate", "prod", "-n", "demo").stdout
    assert "generation 1" in out, out
    # A second request while this one runs is refused, not queued.
    again = magnumctl(m, "ca", "rotate", "prod", "-n", "demo", check=False)
    assert again.returncode != 0 and "already running" in again.stderr, again.stderr

    phases, failures, step = [], [], 0
    signing_kubeconfig = None

    def check_step():
        nonlocal step, signing_kubeconfig
        st, rot = rotation(m)
        phase = rot.get("phase")
        if not phases or phases[-1] != phase:
            phases.append(phase)
        step += 1
        fresh = fetch_kubeconfig(m, tmp_path / f"step{step}")
        got = get_nodes(fresh)
        if got.returncode != 0:
            failures.append((phase, "fresh", got.stderr))
        if signing_kubeconfig is None and phase in ("SigningWithNewCa", "DroppingOldCa"):
            signing_kubeconfig = fresh
        if signing_kubeconfig is not None:
            got = get_nodes(signing_kubeconfig)
            if got.returncode != 0:
                failures.append((phase, "fetched while signing", got.stderr))
        done = (phase == "Complete" and rot.get("generation") == 1
                and st.get("phase") == "UPDATE_COMPLETE")
        return st if done else None
    try:
        st = wait_for(check_step, 240, "the CA rotation to complete")
    except AssertionError:
        raise AssertionError(f"{rotation(m)}\n{m.proc.output()[-4000:]}")
    assert not failures, failures
    assert phases[-1] == "Complete"
    assert {"TrustingNewCa", "SigningWithNewCa", "DroppingOldCa"} <= set(phases), phases
    assert signing_kubeconfig is not None

    # The old kubeconfig is rejected; a new one and the one fetched mid-rotation work.
    rejected = get_nodes(old)
    assert rejected.returncode != 0, rejected.stdout
    assert get_nodes(fetch_kubeconfig(m, tmp_path / "new")).returncode == 0
    assert get_nodes(signing_kubeconfig).returncode == 0

    # Every CA is new; every node was replaced three times and trusts only the new cluster CA.
    assert all(ca["fingerprint"] != fingerprint[ca["name"]] for ca in st["certificateAuthorities"])
    assert st["caRotation"]["reason"] == "Requested" and st["caRotation"]["lastCompleted"]
    sim = sim_cluster(m, st["stackId"])
    assert sorted(n["name"] for n in sim["nodes"]) == [
        "prod-default-master-r3-0", "prod-default-worker-r3-0", "prod-default-worker-r3-1"]
    assert all(n["ready"] for n in sim["nodes"]), sim["nodes"]
    new_hashes = {tuple(n["trusted_cas"]) for n in sim["nodes"]}
    assert len(new_hashes) == 1 and len(next(iter(new_hashes))) == 1, new_hashes
    assert sim["cluster_info_cas"] == list(next(iter(new_hashes))), sim
    # No instant without every worker Ready (maxUnavailable 0, and trust kept at every step).
    summary = sim_timeline(m, st["stackId"], after=started)["summary"]
    assert summary["workers"]["min_ready"] >= 2, summary
    # Events are written in the background under Kubernetes' per-object spam filter (a burst of
    # 25, then one per 10 s): the last ones of a rotation may follow its status by minutes.
    wait_for(lambda: {"CARotationStarted", "CARotationStep"} <=
             {e["spec"]["reason"] for e in m.events("prod")}, 30, "the rotation's events")


def test_a_rotation_is_refused_while_an_upgrade_runs(dev):
    m = dev
    m.apply(template())
    m.apply(cluster("prod", masters=1, workers=1))
    m.wait_phase("prod", "CREATE_COMPLETE", timeout=90)
    m.patch("Cluster", "prod", {"spec": {"labels": {"kube_tag": "v1.33.1"}}})
    wait_for(lambda: (rotation(m)[0].get("rollout") or {}).get("phase") == "Progressing", 30,
             "the upgrade to start")
    refused = magnumctl(m, "ca", "rotate", "prod", "-n", "demo", check=False)
    assert refused.returncode != 0
    assert "a rollout is running" in refused.stderr, refused.stderr


def test_sigkills_during_a_rotation_resume_it_without_a_second_ca(tmp_path, procs):
    sim, clouds = start_cloudsim(tmp_path, procs)
    m = Magnumd(tmp_path, procs, clouds_yaml=clouds, extra=["--api-probe-interval", "0.3"])
    cloud = Cloud(sim.url)
    m.apply(template())
    m.apply(cluster("prod", masters=1, workers=1))
    m.wait_phase("prod", "CREATE_COMPLETE", timeout=90)
    m.patch("Cluster", "prod", {"spec": {"caGeneration": 1}})
    seen = set()
    for delay in (0.3, 0.7, 0.5, 1.1, 0.4, 0.9, 1.3, 0.6):
        time.sleep(delay)
        seen.add(rotation(m)[1].get("phase"))
        m.proc.kill()
        m.restart()

    def done():
        st, rot = rotation(m)
        seen.add(rot.get("phase"))
        return st if rot.get("phase") == "Complete" and rot.get("generation") == 1 and \
            st.get("phase") == "UPDATE_COMPLETE" else None
    try:
        st = wait_for(done, 240, "the rotation to complete after the kills")
    except AssertionError:
        raise AssertionError(f"{rotation(m)}\n{m.proc.output()[-4000:]}")
    # One new CA: every node trusts exactly the CA magnumd serves now (a second CA made by a pass
    # after a kill would have left nodes of an earlier step trusting another).
    status, _, body = request("GET", sim.url + "/sim/v1/clusters")
    assert status == 200, body
    sim_view = next(c for c in body["clusters"] if c["stack_id"] == st["stackId"])
    trusted = {h for n in sim_view["nodes"] for h in n["trusted_cas"]}
    assert trusted == {ca_hash(magnumctl(m, "ca", "show", "prod", "-n", "demo").stdout)}, \
        sim_view["nodes"]
    names = sorted(s["name"] for s in cloud.servers())
    assert names == ["prod-default-master-r3-0", "prod-default-worker-r3-0"], names
    assert len(cloud.stacks()) == 1
