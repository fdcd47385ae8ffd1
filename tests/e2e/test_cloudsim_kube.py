"""cloudsim's simulated kube-apiserver end to end: a CA made with the openssl CLI, a stack whose
servers carry hand-made kubeadm user_data (first master, a worker, a worker with a wrong token),
then the real kubectl (the v1.32 dispatcher on PATH) against the cluster's api_address output."""
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


def server(name, user_data):
    return {"type": "OS::Nova::Server", "properties": {
        "name": name, "flavor": "m1.small", "image": "ubuntu-2204-kube", "user_data_format": "RAW",
        "user_data": user_data, "networks": [{"network": "private"}]}}


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
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "demo", "domain": {"name": "Default"}, "password": "password"}}},
        "scope": {"project": {"name": "demo", "domain": {"id": "default"}}}}}
    status, headers, data = request("POST", f"{cloud.url}/identity/v3/auth/tokens", body)
    assert status == 201, data
    token, project = headers["X-Subject-Token"], data["token"]["project"]["id"]
    template = {"heat_template_version": "2018-08-31", "resources": {
        "master": server("e2e-master-0", init_user_data(d)),
        "worker": server("e2e-node-0", join_user_data(TOKEN, ca_hash)),
        "intruder": server("e2e-node-1", join_user_data("zzzzzz.0123456789abcdef", ca_hash))},
        "outputs": {"api_address": {"value": {"list_join": ["", [
            "https://", {"get_attr": ["master", "first_address"]}, ":6443"]]}}}}
    heat = f"{cloud.url}/heat-api/v1/{project}"
    status, data = os_request("POST", f"{heat}/stacks", {"stack_name": "e2e", "template": template}, token)
    assert status == 201, data
    stack_id = data["stack"]["id"]

    address = None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status, data = os_request("GET", f"{heat}/stacks/e2e/{stack_id}", None, token)
        outputs = {o["output_key"]: o["output_value"] for o in data["stack"].get("outputs", [])}
        if data["stack"]["stack_status"] == "CREATE_COMPLETE" and str(outputs.get("api_address")).startswith("https://127.0.0.1:"):
            address = outputs["api_address"]
            break
        time.sleep(0.2)
    assert address, f"api_address never pointed at the simulated API: {data}\n{cloud.output()[-2000:]}"

    def b64(name):
        return base64.b64encode(open(f"{d}/{name}", "rb").read()).decode()
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "e2e",
        "clusters": [{"name": "e2e", "cluster": {"server": address, "certificate-authority-data": b64("ca.crt")}}],
        "users": [{"name": "admin", "user": {"client-certificate-data": b64("admin.crt"),
                                             "client-key-data": b64("admin.key")}}],
        "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "admin"}}]}))
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
