"""cloudsim's simulated kube-apiserver end to end: a CA made with the openssl CLI, a stack whose
servers carry hand-made kubeadm user_data (first master, a worker, a worker with a wrong token),
then the real kubectl (the v1.32 dispatcher on PATH) against the cluster's api_address output:
get, watch, cordon, drain, uncordon, delete node; the node timeline and the node faults under
/sim/v1."""
import base64
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import Process, binary, free_port, request, wait_ready

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH")

TOKEN = "abcdef.0123456789abcdef"
VERSION = "v1.32.4"  # the dispatcher's own minor: no bundled kubectl needed


def os_request(method, url, body, token):
    """An OpenStack call: the token goes in X-Auth-Token."""
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                 method=method, headers={"X-Auth-Token": token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def sh(*args, stdin=None):
    return subprocess.run(args, input=stdin, capture_output=True, check=True).stdout


def make_pki(d):
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.crt", "-days", "2", "-subj", "/CN=kubernetes",
       "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
       "-addext", "keyUsage=critical,digitalSignature,keyCertSign,cRLSign")
    sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", f"{d}/admin.key", "-out", f"{d}/admin.csr", "-subj", "/O=kubeadm:cluster-admins/CN=kubernetes-admin")
    with open(f"{d}/ext", "w") as f:
        f.write("extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n")
    sh("openssl", "x509", "-req", "-in", f"{d}/admin.csr", "-CA", f"{d}/ca.crt", "-CAkey", f"{d}/ca.key",
       "-CAcreateserial", "-out", f"{d}/admin.crt", "-days", "1", "-extfile", f"{d}/ext")
    pub = sh("openssl", "x509", "-pubkey", "-noout", "-in", f"{d}/ca.crt")
    der = sh("openssl", "pkey", "-pubin", "-outform", "DER", stdin=pub)
    digest = sh("openssl", "dgst", "-sha256", "-r", stdin=der).decode().split()[0]
    return "sha256:" + digest


def indent(text, n):
    return "".join(" " * n + line + "\n" for line in text.splitlines())


def init_user_data(d):
    kubeadm = f"""apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: {VERSION}
controlPlaneEndpoint: 10.0.0.5:6443
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
bootstrapTokens:
- token: {TOKEN}
nodeRegistration:
  name: '{{{{ local_hostname }}}}'
  kubeletExtraArgs:
  - name: node-labels
    value: magnum.openstack.org/role=master,magnum.openstack.org/nodegroup=default-master
"""
    ca_key = base64.b64encode(open(f"{d}/ca.key", "rb").read()).decode()
    return ("## template: jinja\n#cloud-config\nwrite_files:\n"
            "- path: /etc/kubernetes/pki/ca.crt\n  permissions: '0640'\n  content: |\n"
            + indent(open(f"{d}/ca.crt").read(), 4)
            + f"- path: /etc/kubernetes/pki/ca.key\n  permissions: '0600'\n  encoding: base64\n  content: {ca_key}\n"
            + "- path: /run/kubeadm/kubeadm.yaml\n  content: |\n" + indent(kubeadm, 4)
            + "runcmd:\n- kubeadm init --config /run/kubeadm/kubeadm.yaml\n")


def join_user_data(token, ca_hash):
    join = f"""apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    token: {token}
    apiServerEndpoint: 10.0.0.5:6443
    caCertHashes: [{ca_hash}]
nodeRegistration:
  name: '{{{{ local_hostname }}}}'
  kubeletExtraArgs:
  - name: node-labels
    value: magnum.openstack.org/role=worker,magnum.openstack.org/nodegroup=default-worker
"""
    return ("## template: jinja\n#cloud-config\nwrite_files:\n"
            "- path: /run/kubeadm/kubeadm-join-config.yaml\n  content: |\n" + indent(join, 4)
            + "runcmd:\n- kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml\n")


def server(name, user_data, image="ubuntu-2204-kube"):
    return {"type": "OS::Nova::Server", "properties": {
        "name": name, "flavor": "m1.small", "image": image, "user_data_format": "RAW",
        "user_data": user_data, "networks": [{"network": "private"}]}}


def create_cluster(cloud, d, resources):
    """Creates stack "e2e" with `resources` (a "master" among them) and waits for its API.
    Returns (stack_id, api_address)."""
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "demo", "domain": {"name": "Default"}, "password": "password"}}},
        "scope": {"project": {"name": "demo", "domain": {"id": "default"}}}}}
    status, headers, data = request("POST", f"{cloud.url}/identity/v3/auth/tokens", body)
    assert status == 201, data
    token, project = headers["X-Subject-Token"], data["token"]["project"]["id"]
    template = {"heat_template_version": "2018-08-31", "resources": resources,
                "outputs": {"api_address": {"value": {"list_join": ["", [
                    "https://", {"get_attr": ["master", "first_address"]}, ":6443"]]}}}}
    heat = f"{cloud.url}/heat-api/v1/{project}"
    status, data = os_request("POST", f"{heat}/stacks", {"stack_name": "e2e", "template": template}, token)
    assert status == 201, data
    stack_id = data["stack"]["id"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status, data = os_request("GET", f"{heat}/stacks/e2e/{stack_id}", None, token)
        outputs = {o["output_key"]: o["output_value"] for o in data["stack"].get("outputs", [])}
        if data["stack"]["stack_status"] == "CREATE_COMPLETE" and str(outputs.get("api_address")).startswith("https://127.0.0.1:"):
            return stack_id, outputs["api_address"]
        time.sleep(0.2)
    raise AssertionError(f"api_address never pointed at the simulated API: {data}\n{cloud.output()[-2000:]}")


def write_kubeconfig(d, address):
    def b64(name):
        return base64.b64encode(open(f"{d}/{name}", "rb").read()).decode()
    path = f"{d}/config"
    with open(path, "w") as f:
        f.write(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "e2e",
            "clusters": [{"name": "e2e", "cluster": {"server": address, "certificate-authority-data": b64("ca.crt")}}],
            "users": [{"name": "admin", "user": {"client-certificate-data": b64("admin.crt"),
                                                 "client-key-data": b64("admin.key")}}],
            "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "admin"}}]}))
    return path


@pytest.fixture
def cloud(tmp_path, procs):
    port = free_port()
    p = Process([binary("cloudsim"), "--listen", f"127.0.0.1:{port}", "--server-build-seconds", "0.3",
                 "--seed", "11"], port, str(tmp_path / "cloudsim.log"))
    procs.append(p)
    wait_ready(p.url, "/healthz", proc=p)
    return p


def kubectl(kubeconfig, cache, *args, check=True):
    done = subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "--cache-dir", cache, *args],
                          capture_output=True, text=True, timeout=120)
    if check and done.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def test_kubectl_against_the_simulated_cluster(cloud, tmp_path):
    d = str(tmp_path)
    ca_hash = make_pki(d)
    stack_id, address = create_cluster(cloud, d, {
        "master": server("e2e-master-0", init_user_data(d)),
        "worker": server("e2e-node-0", join_user_data(TOKEN, ca_hash)),
        "intruder": server("e2e-node-1", join_user_data("zzzzzz.0123456789abcdef", ca_hash))})
    kubeconfig = write_kubeconfig(d, address)
    cache = str(tmp_path / "kube-cache")

    version = json.loads(kubectl(str(kubeconfig), cache, "version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"] == VERSION
    assert version["serverVersion"]["minor"] == "32"

    lines = kubectl(str(kubeconfig), cache, "get", "nodes").stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"], lines
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    # The intruder's token is not the cluster's: it never became a node.
    assert sorted(rows) == ["e2e-master-0", "e2e-node-0"], lines
    assert rows["e2e-master-0"][1:3] == ["Ready", "control-plane"]
    assert rows["e2e-node-0"][1:3] == ["Ready", "<none>"]
    assert rows["e2e-node-0"][4] == VERSION

    wide = kubectl(str(kubeconfig), cache, "get", "nodes", "-o", "wide").stdout.splitlines()
    assert wide[0].split()[5:7] == ["INTERNAL-IP", "EXTERNAL-IP"], wide
    print("\n".join(wide))  # shown with pytest -s
    assert kubectl(str(kubeconfig), cache, "get", "--raw", "/healthz").stdout.strip() == "ok"
    labels = json.loads(kubectl(str(kubeconfig), cache, "get", "node", "e2e-node-0", "-o", "json").stdout)["metadata"]["labels"]
    assert labels["magnum.openstack.org/role"] == "worker"
    assert labels["magnum.openstack.org/nodegroup"] == "default-worker"

    # kubectl get nodes -w: a list, then a watch with Table rows; the NotReady fault arrives as a row.
    watch = subprocess.Popen(["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", cache, "get", "nodes",
                              "-w", "--output-watch-events"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    status, _, data = request("POST", f"{cloud.url}/sim/v1/clusters/{stack_id}/nodes/e2e-node-0", {"ready": False})
    assert status == 200, data
    time.sleep(1.5)
    watch.terminate()
    out, err = watch.communicate(timeout=10)
    print(out)
    events = [line.split() for line in out.splitlines()[1:]]
    assert ["MODIFIED", "e2e-node-0", "NotReady"] in [e[:3] for e in events], f"{out}\n{err}"
    lines = kubectl(str(kubeconfig), cache, "get", "nodes").stdout.splitlines()
    assert {line.split()[0]: line.split()[1] for line in lines[1:]}["e2e-node-0"] == "NotReady"

    status, _, data = request("POST", f"{cloud.url}/sim/v1/clusters/{stack_id}", {"healthz_failing": True})
    assert status == 200, data
    failed = kubectl(str(kubeconfig), cache, "get", "--raw", "/healthz", check=False)
    assert failed.returncode != 0


def sim_get(cloud, path):
    status, _, data = request("GET", f"{cloud.url}/sim/v1/{path}")
    assert status == 200, data
    return data


def sim_post(cloud, path, body):
    status, _, data = request("POST", f"{cloud.url}/sim/v1/{path}", body)
    assert status == 200, data
    return data


def node_status(kubeconfig, cache):
    lines = kubectl(kubeconfig, cache, "get", "nodes").stdout.splitlines()
    return {line.split()[0]: line.split()[1] for line in lines[1:]}


def test_kubectl_cordon_drain_delete_and_the_timeline(cloud, tmp_path):
    d = str(tmp_path)
    ca_hash = make_pki(d)
    # e2e-node-2 never joins; e2e-node-3's image never becomes Ready.
    sim_post(cloud, "faults", {"never_join": ["e2e-node-2"], "never_ready_images": ["ubuntu-2204-kube-broken"]})
    stack_id, address = create_cluster(cloud, d, {
        "master": server("e2e-master-0", init_user_data(d)),
        "w0": server("e2e-node-0", join_user_data(TOKEN, ca_hash)),
        "w1": server("e2e-node-1", join_user_data(TOKEN, ca_hash)),
        "w2": server("e2e-node-2", join_user_data(TOKEN, ca_hash)),
        "w3": server("e2e-node-3", join_user_data(TOKEN, ca_hash), image="ubuntu-2204-kube-broken")})
    kubeconfig = write_kubeconfig(d, address)
    cache = str(tmp_path / "kube-cache")

    deadline = time.monotonic() + 10
    while node_status(kubeconfig, cache).keys() != {"e2e-master-0", "e2e-node-0", "e2e-node-1", "e2e-node-3"}:
        assert time.monotonic() < deadline, node_status(kubeconfig, cache)
        time.sleep(0.2)
    assert node_status(kubeconfig, cache) == {"e2e-master-0": "Ready", "e2e-node-0": "Ready",
                                              "e2e-node-1": "Ready", "e2e-node-3": "NotReady"}
    start = sim_get(cloud, f"clusters/{stack_id}/timeline")
    assert start["summary"]["workers"]["ready"] == 2 and start["summary"]["workers"]["nodes"] == 3, start
    mark = start["last_seq"]

    out = kubectl(kubeconfig, cache, "cordon", "e2e-node-0").stdout
    assert "node/e2e-node-0 cordoned" in out, out
    assert node_status(kubeconfig, cache)["e2e-node-0"] == "Ready,SchedulingDisabled"

    # CoreDNS starts on the first master; a drain evicts it (to e2e-node-1, the only schedulable
    # Ready worker) and leaves kube-proxy and the static pods.
    drained = kubectl(kubeconfig, cache, "drain", "e2e-master-0", "--ignore-daemonsets", "--timeout=20s")
    print(drained.stdout, drained.stderr)
    assert "node/e2e-master-0 drained" in drained.stdout, drained
    assert "evicting pod kube-system/coredns-" in drained.stdout + drained.stderr, drained
    pods = kubectl(kubeconfig, cache, "get", "pods", "-A", "-o", "wide").stdout.splitlines()
    print("\n".join(pods))
    assert pods[0].split()[:3] == ["NAMESPACE", "NAME", "READY"], pods
    coredns = [line.split() for line in pods if line.split()[1].startswith("coredns-")]
    assert [p[7] for p in coredns] == ["e2e-node-1", "e2e-node-1"], pods
    on_node0 = json.loads(kubectl(kubeconfig, cache, "get", "pods", "-A", "-o", "json",
                                  "--field-selector", "spec.nodeName=e2e-node-0").stdout)["items"]
    assert [p["metadata"]["ownerReferences"][0]["kind"] for p in on_node0] == ["DaemonSet"]

    drained = kubectl(kubeconfig, cache, "drain", "e2e-node-0", "--ignore-daemonsets", "--timeout=20s")
    assert "node/e2e-node-0 drained" in drained.stdout, drained
    out = kubectl(kubeconfig, cache, "uncordon", "e2e-node-0").stdout
    assert "node/e2e-node-0 uncordoned" in out, out
    assert node_status(kubeconfig, cache)["e2e-node-0"] == "Ready"
    kubectl(kubeconfig, cache, "uncordon", "e2e-master-0")

    out = kubectl(kubeconfig, cache, "delete", "node", "e2e-node-0", "--timeout=20s").stdout
    assert 'node "e2e-node-0" deleted' in out, out
    assert "e2e-node-0" not in node_status(kubeconfig, cache)

    timeline = sim_get(cloud, f"clusters/{stack_id}/timeline?after={mark}")
    print(json.dumps(timeline, indent=1))
    events = [(e["node"], e["event"]) for e in timeline["events"]]
    assert events == [("e2e-node-0", "cordoned"), ("e2e-master-0", "cordoned"), ("e2e-node-0", "uncordoned"),
                      ("e2e-master-0", "uncordoned"), ("e2e-node-0", "deleted")], events
    workers = timeline["summary"]["workers"]
    assert (workers["min_ready"], workers["min_schedulable"], workers["ready"]) == (1, 1, 1), workers
    assert timeline["summary"]["masters"]["min_schedulable"] == 0, timeline["summary"]
    since = sim_get(cloud, f"clusters/{stack_id}/timeline?since={timeline['events'][-1]['time']}")
    assert since["summary"]["workers"]["min_ready"] == 1

    # The node faults: NotReady, and the API server down and back on its port.
    sim_post(cloud, f"clusters/{stack_id}/nodes/e2e-node-1", {"ready": False})
    assert node_status(kubeconfig, cache)["e2e-node-1"] == "NotReady"
    sim_post(cloud, f"clusters/{stack_id}", {"api_running": False})
    assert kubectl(kubeconfig, cache, "get", "nodes", "--request-timeout=5s", check=False).returncode != 0
    sim_post(cloud, f"clusters/{stack_id}", {"api_running": True})
    assert node_status(kubeconfig, cache)["e2e-node-1"] == "NotReady"
    assert sim_get(cloud, f"clusters/{stack_id}/timeline")["summary"]["workers"]["ready"] == 0
    assert sim_get(cloud, "faults")["never_join"] == ["e2e-node-2"]
