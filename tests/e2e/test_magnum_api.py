"""The real `openstack coe` (python-magnumclient, as Debian ships it) against `magnumd --dev`,
over HTTPS, with nothing but an endpoint and a token: cluster templates and clusters made through
Magnum's v1 API are the same objects kubectl sees, converge to CREATE_COMPLETE, resize, and
delete; `coe ca show`, `coe service list` (the controllers' heartbeat) and `coe stats list` answer
as Magnum's do; errors come back in Magnum's body and the client prints them.
"""
import json
import os
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import binary, free_port
from test_kubectl_magnumd import Dev

pytestmark = [
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH"),
    pytest.mark.skipif(shutil.which("openstack") is None or not os.path.isdir(
        "/usr/lib/python3/dist-packages/magnumclient"),
        reason="the openstack CLI with python3-magnumclient is not installed"),
]


class Coe:
    def __init__(self, dev):
        self.dev = dev
        with open(dev.data / "admin.token") as f:
            token = f.read().strip()
        self.token = token
        self.base = ["openstack", "--os-auth-type", "admin_token",
                     "--os-endpoint", f"{dev.proc.url}/v1", "--os-token", token,
                     "--os-cacert", str(dev.data / "ca.crt")]
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}

    def run(self, *args, check=True):
        out = subprocess.run([*self.base, "coe", *args], capture_output=True, text=True,
                             env=self.env, timeout=120)
        if check:
            assert out.returncode == 0, f"openstack coe {' '.join(args)}:\n{out.stdout}{out.stderr}"
        return out

    def get(self, path):
        """A raw GET of the Magnum API, for what the CLI does not print."""
        context = ssl.create_default_context(cafile=str(self.dev.data / "ca.crt"))
        req = urllib.request.Request(self.dev.proc.url + path,
                                     headers={"X-Auth-Token": self.token,
                                              "OpenStack-API-Version": "container-infra latest"})
        with urllib.request.urlopen(req, timeout=10, context=context) as r:
            return json.loads(r.read())

    def json(self, *args):
        out = self.run(*args, "-f", "json").stdout
        # Some commands print a line ("Request to create ... accepted") before the document.
        starts = [i for i in (out.find("{"), out.find("[")) if i >= 0]
        return json.loads(out[min(starts):] if starts else out)

    def wait_status(self, name, statuses, timeout=120):
        deadline = time.monotonic() + timeout
        shown = {}
        while time.monotonic() < deadline:
            shown = self.json("cluster", "show", name)
            if shown.get("status") in statuses:
                return shown
            time.sleep(0.5)
        raise AssertionError(f"{name} not {statuses}: {shown}\n{self.dev.proc.output()[-3000:]}")


@pytest.fixture
def coe(tmp_path, procs):
    return Coe(Dev(tmp_path, procs))


def test_openstack_coe_drives_clusters_that_kubectl_sees(coe):
    made = coe.json("cluster", "template", "create", "k8s-coe", "--coe", "kubernetes",
                    "--image", "fedora-coreos-38", "--external-network", "public",
                    "--keypair", "demo-key", "--network-driver", "flannel",
                    "--flavor", "m1.small", "--master-flavor", "m1.small",
                    "--labels", "kube_tag=v1.32.1")
    assert made["name"] == "k8s-coe" and made["uuid"], made
    listed = coe.json("cluster", "template", "list")
    assert "k8s-coe" in [t["name"] for t in listed], listed

    out = coe.run("cluster", "create", "coe-prod", "--cluster-template", "k8s-coe",
                  "--master-count", "1", "--node-count", "1")
    assert "accepted" in out.stdout, out.stdout
    # One object: kubectl sees the cluster the Magnum API made, under the same uid.
    uid = coe.dev.kubectl("get", "cluster", "coe-prod", "-n", "default",
                          "-o", "jsonpath={.metadata.uid}").stdout
    shown = coe.wait_status("coe-prod", ("CREATE_COMPLETE",))
    assert shown["uuid"] == uid, (shown, uid)
    assert shown["cluster_template_id"] == made["uuid"], shown
    assert shown["api_address"].startswith("https://"), shown
    assert shown["node_count"] == 1 and shown["master_count"] == 1, shown

    # The cluster's CA, as `openstack coe ca show` prints it, is the one kubectl's kubeconfig trusts.
    ca = coe.run("ca", "show", "coe-prod").stdout
    assert "BEGIN CERTIFICATE" in ca, ca
    # The controllers report like Magnum's conductor: up, with a growing report count.
    services = coe.json("service", "list")
    assert services and services[0]["binary"] == "magnum-conductor", services
    assert services[0]["state"] == "up" and services[0]["updated_at"], services
    first = coe.get("/v1/mservices")["mservices"][0]["report_count"]
    time.sleep(1.0)  # the observer beats every --sync-interval (0.3 s here)
    assert coe.get("/v1/mservices")["mservices"][0]["report_count"] > first
    table = coe.run("stats", "list", "default").stdout  # print_dict: "| clusters | 1 |"
    stats = {cells[0]: cells[1] for cells in
             ([c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()
              if line.startswith("|")) if len(cells) == 2}
    assert stats.get("clusters") == "1" and stats.get("nodes") == "2", table

    # magnumctl counts the same way, beside the project's quotas.
    rows = [line.split() for line in coe.dev.magnumctl("stats", "-A").stdout.splitlines()]
    assert ["default", "1", "2", "<none>", "<none>"] in rows, rows

    coe.run("cluster", "resize", "coe-prod", "2")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        shown = coe.json("cluster", "show", "coe-prod")
        if shown["node_count"] == 2 and shown["status"] in ("UPDATE_COMPLETE", "CREATE_COMPLETE") \
                and len(shown["node_addresses"]) == 2:
            break
        time.sleep(0.5)
    assert shown["node_count"] == 2 and len(shown["node_addresses"]) == 2, shown

    # Magnum's errors reach the user: a template in use cannot go (Magnum's 400
    # ClusterTemplateReferenced; the client prints the title and code, and exits 0).
    refused = coe.run("cluster", "template", "delete", "k8s-coe")
    assert "failed" in refused.stdout and "400" in refused.stdout, refused
    assert "referenced by one or multiple clusters" in refused.stdout, refused  # the title
    assert "k8s-coe" in [t["name"] for t in coe.json("cluster", "template", "list")]

    coe.run("cluster", "delete", "coe-prod")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        got = coe.dev.kubectl("get", "cluster", "coe-prod", "-n", "default", check=False)
        if got.returncode != 0 and "NotFound" in got.stderr:
            break
        time.sleep(0.5)
    assert "NotFound" in got.stderr, got.stdout + got.stderr
    listed = coe.json("cluster", "list")
    assert "coe-prod" not in [c["name"] for c in listed], listed


def test_openstack_coe_finds_magnumd_in_the_catalog_with_a_password_login(coe):
    """As on a cloud with Magnum: the user logs in to Keystone with a password (the dev cloud's
    clouds.yaml), the catalog's container-infra endpoint leads to magnumd, and magnumd takes the
    Keystone token; what the user makes lands in its project's namespace."""
    data = coe.dev.data
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["OS_CLIENT_CONFIG_FILE"] = str(data / "clouds.yaml")
    base = ["openstack", "--os-cloud", "magnumd-dev", "--os-cacert", str(data / "ca.crt")]

    def run(*args):
        out = subprocess.run([*base, *args], capture_output=True, text=True, env=env, timeout=120)
        assert out.returncode == 0, f"openstack {' '.join(args)}:\n{out.stdout}{out.stderr}"
        return out.stdout

    endpoints = json.loads(run("catalog", "show", "container-infra", "-f", "json"))
    assert "/v1" in json.dumps(endpoints["endpoints"]), endpoints
    project = json.loads(run("token", "issue", "-f", "json"))["project_id"]
    run("coe", "cluster", "template", "create", "mine", "--coe", "kubernetes",
        "--image", "fedora-coreos-38", "--external-network", "public", "--keypair", "demo-key")
    listed = json.loads(run("coe", "cluster", "template", "list", "-f", "json"))
    assert "mine" in [t["name"] for t in listed], listed
    ns = coe.dev.kubectl("get", "clustertemplates", "-A", "-o",
                         "jsonpath={range .items[?(@.metadata.name=='mine')]}{.metadata.namespace}{end}")
    assert ns.stdout == project, (ns.stdout, project)


def magnum_post(coe, path, body):
    """A raw POST, to read the error's detail: magnumclient prints only an error's title."""
    context = ssl.create_default_context(cafile=str(coe.dev.data / "ca.crt"))
    req = urllib.request.Request(coe.dev.proc.url + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"X-Auth-Token": coe.token, "Content-Type": "application/json",
                                          "OpenStack-API-Version": "container-infra latest"})
    try:
        with urllib.request.urlopen(req, timeout=10, context=context) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_templates_and_clusters_are_validated_against_the_cloud(coe):
    """As Magnum: an image Glance does not hold, or one without os_distro, and a flavor Nova does
    not know are 400s; a missing key pair is fine on the template but not on the cluster; an image
    made with `openstack image create --property os_distro=...` is accepted."""
    base = ["cluster", "template", "create", "--coe", "kubernetes", "--external-network", "public",
            "--network-driver", "flannel"]
    missing = coe.run(*base, "t-missing", "--image", "fedora-coreos-99", check=False)
    assert missing.returncode != 0 and "(HTTP 400)" in missing.stderr, missing.stderr
    template = {"name": "t-raw", "coe": "kubernetes", "image_id": "fedora-coreos-99",
                "external_network_id": "public", "flavor_id": "m9.giant"}
    status, body = magnum_post(coe, "/v1/clustertemplates", template)
    detail = body["errors"][0]["detail"]
    assert status == 400, body
    assert 'spec.image: image "fedora-coreos-99" not found in Glance' in detail, detail
    assert 'spec.flavor: flavor "m9.giant" not found in Nova' in detail, detail

    # The same cloud's Glance, through the openstack CLI and the clouds.yaml --dev wrote.
    clouds = coe.dev.data / "clouds.yaml"
    env = {**coe.env, "OS_CLIENT_CONFIG_FILE": str(clouds)}
    for name, extra in (("plain-e2e", []), ("coreos-e2e", ["--property", "os_distro=fedora-coreos"])):
        made = subprocess.run(["openstack", "--os-cloud", "magnumd-dev", "image", "create", name,
                               "--disk-format", "qcow2", *extra], capture_output=True, text=True,
                              timeout=120, env=env, stdin=subprocess.DEVNULL)
        assert made.returncode == 0, made.stderr
    status, body = magnum_post(coe, "/v1/clustertemplates", {**template, "image_id": "plain-e2e",
                                                             "flavor_id": "m1.small"})
    assert status == 400 and "has no os_distro property" in body["errors"][0]["detail"], body

    made = coe.json(*base, "t-later-key", "--image", "coreos-e2e", "--keypair", "later-key")
    assert made["keypair_id"] == "later-key", made
    refused = coe.run("cluster", "create", "c-nokey", "--cluster-template", "t-later-key",
                      "--master-count", "1", "--node-count", "1", check=False)
    assert refused.returncode != 0 and "(HTTP 400)" in refused.stderr, refused.stderr
    status, body = magnum_post(coe, "/v1/clusters", {"name": "c-raw", "cluster_template_id": "t-later-key",
                                                     "master_count": 1, "node_count": 1})
    assert status == 400, body
    assert 'key pair "later-key" (from template "t-later-key") not found in Nova' in body["errors"][0]["detail"], body
    accepted = coe.run("cluster", "create", "c-key", "--cluster-template", "t-later-key",
                       "--keypair", "demo-key", "--master-count", "1", "--node-count", "1")
    assert "accepted" in accepted.stdout, accepted.stdout


def test_a_policy_file_governs_the_magnum_api_and_a_bad_one_stops_magnumd(tmp_path, procs):
    """magnumd --policy-file, in oslo.policy's YAML as a Magnum operator writes it: the rule it
    overrides refuses `openstack coe` (which prints Magnum's policy message) while /apis keeps its
    own roles; a rule that does not parse stops magnumd at start-up, naming the rule and where."""
    policy = tmp_path / "policy.yaml"
    policy.write_text('# templates are made by the platform team, through GitOps\n'
                      '"clustertemplate:create": "!"\n'
                      '"team_lead": "role:lead and not role:intern"\n'
                      '"cluster:delete": "rule:team_lead or rule:context_is_admin"\n')
    coe = Coe(Dev(tmp_path, procs, ["--policy-file", str(policy)]))
    refused = coe.run("cluster", "template", "create", "k8s", "--coe", "kubernetes",
                      "--image", "fedora-coreos-38", "--external-network", "public", check=False)
    assert refused.returncode != 0, refused.stdout
    assert "Policy doesn't allow clustertemplate:create to be performed" in refused.stderr, \
        refused.stderr
    assert "(HTTP 403)" in refused.stderr, refused.stderr
    # The same template through /apis: the policy file does not govern it.
    coe.dev.kubectl("apply", "-f", "-", input=(
        "apiVersion: container-infra/v1\nkind: ClusterTemplate\n"
        "metadata: {name: k8s, namespace: default}\n"
        "spec: {coe: kubernetes, image: fedora-coreos-38, externalNetwork: public}\n"))
    listed = coe.json("cluster", "template", "list")
    assert [t["name"] for t in listed] == ["k8s"], listed
    # Rules the file does not name keep Magnum's defaults: the admin lists every project.
    assert coe.json("cluster", "list") == []

    bad = tmp_path / "bad-policy.yaml"
    bad.write_text('"cluster:create": "role:admin or or role:member"\n')
    port = free_port()
    done = subprocess.run([binary("magnumd"), "--dev", "--listen", f"127.0.0.1:{port}",
                           "--data-dir", str(tmp_path / "bad-data"), "--policy-file", str(bad)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0, done.stdout + done.stderr
    assert (f'{bad}: rule "cluster:create": at 15: expected a check, \'not\' or \'(\', '
            "found 'or'") in done.stderr + done.stdout, done.stderr + done.stdout
