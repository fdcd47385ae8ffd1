"""cloudsim end to end: the real binary on a free port, driven by python-openstackclient and by
plain HTTP for the /sim/v1 fault API."""
import json
import os
import subprocess
import time

import pytest

from conftest import Process, binary, free_port, request, wait_ready

TEMPLATE = """heat_template_version: 2018-08-31
description: e2e workers
parameters:
  count: {type: number, default: 2}
resources:
  workers:
    type: OS::Heat::ResourceGroup
    properties:
      count: {get_param: count}
      resource_def:
        type: OS::Nova::Server
        properties:
          name: e2e-worker-%index%
          image: fedora-coreos
          flavor: m1.small
          metadata: {cluster: e2e}
outputs:
  server_ids:
    description: ids of the workers
    value: {get_attr: [workers, refs]}
"""


@pytest.fixture
def cloud(tmp_path, procs):
    port = free_port()
    p = Process([binary("cloudsim"), "--listen", f"127.0.0.1:{port}", "--server-build-seconds", "0.5",
                 "--delete-seconds", "0.2", "--seed", "7"], port, str(tmp_path / "cloudsim.log"))
    procs.append(p)
    wait_ready(p.url, "/healthz", proc=p)
    return p


def openstack(cloud, *args, user="demo", password="password", check=True, timeout=120):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    cmd = ["openstack", "--os-auth-url", f"{cloud.url}/identity/v3", "--os-username", user,
           "--os-password", password, "--os-project-name", user, "--os-user-domain-name", "Default",
           "--os-project-domain-name", "Default", "--os-identity-api-version", "3", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n"
                             f"cloudsim log:\n{cloud.output()[-3000:]}")
    return done


def as_json(done):
    # `--wait` prints the event log before the document: parse from the first line that opens it.
    lines = done.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(("{", "[")))
    return json.loads("\n".join(lines[start:]))


def token_for(cloud, user="demo"):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": "Default"}, "password": "password"}}},
        "scope": {"project": {"name": user, "domain": {"id": "default"}}}}}
    status, headers, data = request("POST", f"{cloud.url}/identity/v3/auth/tokens", body)
    assert status == 201, data
    return headers["X-Subject-Token"], data["token"]["project"]["id"]


def test_openstack_client_stack_and_server_lifecycle(cloud, tmp_path):
    template = tmp_path / "workers.yaml"
    template.write_text(TEMPLATE)
    created = as_json(openstack(cloud, "stack", "create", "-t", str(template), "--parameter", "count=3",
                                "--wait", "--poll", "1", "-f", "json", "e2e"))
    assert created["stack_status"] == "CREATE_COMPLETE"

    stacks = as_json(openstack(cloud, "stack", "list", "-f", "json"))
    assert [(s["Stack Name"], s["Stack Status"]) for s in stacks] == [("e2e", "CREATE_COMPLETE")]

    shown = as_json(openstack(cloud, "stack", "show", "e2e", "-f", "json"))
    assert shown["parameters"]["count"] == "3"
    outputs = {o["output_key"]: o["output_value"] for o in shown["outputs"]}
    assert len(outputs["server_ids"]) == 3

    output = as_json(openstack(cloud, "stack", "output", "show", "e2e", "server_ids", "-f", "json"))
    assert sorted(output["output_value"]) == sorted(outputs["server_ids"])

    servers = as_json(openstack(cloud, "server", "list", "-f", "json"))
    assert sorted(s["Name"] for s in servers) == ["e2e-worker-0", "e2e-worker-1", "e2e-worker-2"]
    assert {s["Status"] for s in servers} == {"ACTIVE"}
    assert sorted(s["ID"] for s in servers) == sorted(outputs["server_ids"])

    server = as_json(openstack(cloud, "server", "show", "e2e-worker-1", "-f", "json"))
    assert server["status"] == "ACTIVE"
    assert server["properties"] == {"cluster": "e2e"} or "cluster='e2e'" in str(server["properties"])

    resources = as_json(openstack(cloud, "stack", "resource", "list", "-n", "1", "e2e", "-f", "json"))
    assert sum(1 for r in resources if r["resource_type"] == "OS::Nova::Server") == 3

    openstack(cloud, "stack", "delete", "--yes", "--wait", "e2e")
    assert as_json(openstack(cloud, "stack", "list", "-f", "json")) == []
    assert as_json(openstack(cloud, "server", "list", "-f", "json")) == []

    status, _, stats = request("GET", f"{cloud.url}/sim/v1/stats")
    assert status == 200
    assert stats["requests"]["keystone POST /auth/tokens"] >= 10
    assert stats["requests"]["heat POST /stacks"] == 1
    assert stats["requests"]["nova GET /servers/detail"] >= 2


def test_openstack_client_images_and_keypairs(cloud, tmp_path):
    # Glance v2: create with a property (no data: the client's stdin is not a terminal, so it
    # uploads what it reads there), list, show by name, delete.
    created = as_json(openstack(cloud, "image", "create", "--property", "os_distro=fedora-coreos",
                                "--disk-format", "qcow2", "coreos-e2e", "-f", "json"))
    assert created["name"] == "coreos-e2e"
    assert created["properties"]["os_distro"] == "fedora-coreos"
    listed = as_json(openstack(cloud, "image", "list", "-f", "json"))
    names = {i["Name"]: i for i in listed}
    assert "coreos-e2e" in names and "fedora-coreos-38" in names, listed
    shown = as_json(openstack(cloud, "image", "show", "coreos-e2e", "-f", "json"))
    assert shown["id"] == created["id"] and shown["properties"]["os_distro"] == "fedora-coreos"
    seeded = as_json(openstack(cloud, "image", "show", "fedora-coreos-38", "-f", "json"))
    assert seeded["properties"]["os_distro"] == "fedora-coreos" and seeded["status"] == "active"
    openstack(cloud, "image", "delete", "coreos-e2e")
    assert "coreos-e2e" not in {i["Name"] for i in as_json(openstack(cloud, "image", "list", "-f", "json"))}

    # Nova os-keypairs: generated (the private key printed once), imported, listed, shown, deleted.
    generated = openstack(cloud, "keypair", "create", "k-gen")
    assert "PRIVATE KEY-----" in generated.stdout
    pub = tmp_path / "id.pub"
    pub.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAryRm/JJuIzw4uI3eOqPVeGzGyXb0vYtCLNUKzecsRU e2e\n")
    imported = as_json(openstack(cloud, "keypair", "create", "--public-key", str(pub), "k-imp", "-f", "json"))
    assert imported["name"] == "k-imp" and imported["fingerprint"].count(":") == 15
    keys = {k["Name"] for k in as_json(openstack(cloud, "keypair", "list", "-f", "json"))}
    assert keys == {"demo-key", "k-gen", "k-imp"}, keys
    shown = as_json(openstack(cloud, "keypair", "show", "k-imp", "-f", "json"))
    assert shown["fingerprint"] == imported["fingerprint"]
    dup = openstack(cloud, "keypair", "create", "--public-key", str(pub), "k-imp", check=False)
    assert dup.returncode != 0 and "409" in dup.stderr, dup.stderr
    openstack(cloud, "keypair", "delete", "k-gen", "k-imp")
    missing = openstack(cloud, "keypair", "show", "k-gen", check=False)
    assert missing.returncode != 0
    keys = {k["Name"] for k in as_json(openstack(cloud, "keypair", "list", "-f", "json"))}
    assert keys == {"demo-key"}, keys


def test_bad_credentials_are_refused(cloud):
    done = openstack(cloud, "stack", "list", password="wrong", check=False)
    assert done.returncode != 0
    assert "401" in done.stderr or "authentication" in done.stderr.lower()
    status, headers, body = request("POST", f"{cloud.url}/identity/v3/auth/tokens", {"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"name": "demo", "domain": {"name": "Default"},
                                                       "password": "wrong"}}}}})
    assert status == 401
    assert body == {"error": {"code": 401, "message": "The request you have made requires authentication.",
                              "title": "Unauthorized"}}
    assert headers["WWW-Authenticate"].startswith("Keystone uri=")


def test_fault_api(cloud, tmp_path):
    template = tmp_path / "workers.yaml"
    template.write_text(TEMPLATE)
    token, project = token_for(cloud)
    heat = f"{cloud.url}/heat-api/v1/{project}"
    hdr_token = {"X-Auth-Token": token}

    def get(url, **extra):
        import urllib.request
        req = urllib.request.Request(url, headers={**hdr_token, **extra})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    # An injected create failure shows CREATE_FAILED with the given reason.
    status, _, _ = request("POST", f"{cloud.url}/sim/v1/faults",
                           {"fail_stack_create": {"count": 1, "reason": "injected: no capacity"}})
    assert status == 200
    done = openstack(cloud, "stack", "create", "-t", str(template), "--wait", "--poll", "1", "bad", check=False)
    assert done.returncode != 0
    shown = as_json(openstack(cloud, "stack", "show", "bad", "-f", "json"))
    assert shown["stack_status"] == "CREATE_FAILED"
    assert "injected: no capacity" in shown["stack_status_reason"]

    # A server set to ERROR out of band shows in Nova with its fault.
    servers = as_json(openstack(cloud, "server", "list", "-f", "json"))
    victim = servers[0]["ID"]
    status, _, body = request("POST", f"{cloud.url}/sim/v1/servers/{victim}/status",
                              {"status": "ERROR", "reason": "hypervisor lost"})
    assert status == 200 and body["server"]["status"] == "ERROR"
    status, body = get(f"{cloud.url}/compute/v2.1/servers/{victim}")
    assert body["server"]["status"] == "ERROR"
    assert body["server"]["fault"]["message"] == "hypervisor lost"

    # Deleting a server out of band: gone from the list, DELETED in changes-since.
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    status, _, _ = request("DELETE", f"{cloud.url}/sim/v1/servers/{victim}")
    assert status == 204
    status, body = get(f"{cloud.url}/compute/v2.1/servers/detail?changes-since={since}")
    assert {s["id"]: s["status"] for s in body["servers"]}[victim] == "DELETED"

    # Every Nova request fails while error_rate is 1 for nova; heat is untouched.
    request("POST", f"{cloud.url}/sim/v1/faults", {"error_rate": 1.0, "error_services": ["nova"]})
    status, body = get(f"{cloud.url}/compute/v2.1/servers")
    assert status == 503 and body["serviceUnavailable"]["code"] == 503
    assert get(f"{heat}/stacks")[0] == 200

    # An outage makes everything answer 503 until it ends.
    request("DELETE", f"{cloud.url}/sim/v1/faults")
    request("POST", f"{cloud.url}/sim/v1/faults", {"unavailable_seconds": 1.0})
    assert get(f"{heat}/stacks")[0] == 503
    deadline = time.monotonic() + 10
    while get(f"{heat}/stacks")[0] != 200:
        assert time.monotonic() < deadline, "outage did not end"
        time.sleep(0.1)

    # Latency is added to each API request.
    request("POST", f"{cloud.url}/sim/v1/faults", {"latency_ms": 300})
    started = time.monotonic()
    assert get(f"{heat}/stacks")[0] == 200
    assert time.monotonic() - started >= 0.3
    status, _, faults = request("DELETE", f"{cloud.url}/sim/v1/faults")
    assert faults["latency_ms"] == 0 and faults["error_rate"] == 0
