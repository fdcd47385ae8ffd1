"""Helpers shared by the reconcile, crash and fault suites: a magnumd (--dev, or against a
separate cloudsim), the REST API with its admin token, and cloudsim's own view of the cloud."""
import json
import os
import time

import yaml

from conftest import Process, binary, free_port, request, wait_ready, SOURCE_DIR

API = "/apis/container-infra/v1"
NS = "demo"
PLURAL = {"ClusterTemplate": "clustertemplates", "Cluster": "clusters", "NodeGroup": "nodegroups"}


def wait_for(predicate, timeout, what):
    """Polls predicate() until it returns a truthy value; fails naming `what` and the last value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


class Magnumd:
    """magnumd with fast reconcile settings. With `os_cloud`, talks to an external cloudsim."""

    def __init__(self, tmp_path, procs, extra=(), clouds_yaml=None, data_dir=None):
        self.port = free_port()
        self.data_dir = data_dir or str(tmp_path / "data")
        os.makedirs(self.data_dir, exist_ok=True)
        # Plain HTTP: these suites speak to the API with urllib and MAGNUMD_URL; HTTPS with the
        # dev CA and the kubeconfig is test_kubectl_magnumd's.
        args = [binary("magnumd"), "--dev", "--dev-plain-http", "--listen", f"127.0.0.1:{self.port}",
                "--data-dir", self.data_dir, "--sync-interval", "0.3", "--sweep-pages", "1",
                "--dev-server-build-seconds", "0.3", *extra]
        if "--workers" not in extra:
            args += ["--workers", "4"]
        env = dict(os.environ)
        if clouds_yaml:
            env["OS_CLIENT_CONFIG_FILE"] = clouds_yaml
            args += ["--os-cloud", "magnumd-e2e"]
        self.proc = Process(args, self.port, str(tmp_path / f"magnumd-{self.port}.log"), env=env)
        procs.append(self.proc)
        self.url = self.proc.url
        wait_ready(self.url, "/readyz", timeout=60, proc=self.proc)
        with open(os.path.join(self.data_dir, "admin.token")) as f:
            self.token = f.read().strip()

    def restart(self):
        self.proc.restart()
        wait_ready(self.url, "/readyz", timeout=60, proc=self.proc)

    def call(self, method, path, body=None, content_type="application/json"):
        return request(method, self.url + path, body, token=self.token, content_type=content_type)

    def path(self, kind, name=None, ns=NS):
        p = f"{API}/namespaces/{ns}/{PLURAL[kind]}"
        return p if name is None else f"{p}/{name}"

    def apply(self, obj):
        kind, name = obj["kind"], obj["metadata"]["name"]
        ns = obj["metadata"].get("namespace", NS)
        status, _, body = self.call("POST", self.path(kind, ns=ns), obj)
        assert status in (200, 201), f"create {kind} {name}: {status} {body}"
        return body

    def get(self, kind, name):
        status, _, body = self.call("GET", self.path(kind, name))
        return body if status == 200 else None

    def patch(self, kind, name, patch):
        status, _, body = self.call("PATCH", self.path(kind, name), patch,
                                    content_type="application/merge-patch+json")
        assert status == 200, f"patch {kind} {name}: {status} {body}"
        return body

    def delete(self, kind, name):
        status, _, body = self.call("DELETE", self.path(kind, name))
        assert status in (200, 202, 404), f"delete {kind} {name}: {status} {body}"

    def phase(self, name):
        c = self.get("Cluster", name)
        return (c or {}).get("status", {}).get("phase")

    def wait_phase(self, name, phase, timeout=60):
        def check():
            c = self.get("Cluster", name)
            st = (c or {}).get("status", {})
            gen = (c or {}).get("metadata", {}).get("generation")
            return st if st.get("phase") == phase and st.get("observedGeneration") == gen else None
        try:
            return wait_for(check, timeout, f"cluster {name} {phase}")
        except AssertionError:
            raise AssertionError(f"cluster {name} never reached {phase}: {self.get('Cluster', name)}\n"
                                 f"log tail:\n{self.proc.output()[-3000:]}")

    def wait_settled(self, name, timeout=60):
        """The cluster built and Ready for its generation. Applying examples/ creates the
        Cluster and its extra NodeGroup together: whether the group lands in the first stack
        (CREATE_COMPLETE) or in a second pass (UPDATE_COMPLETE) is a race, and both are right."""
        def check():
            c = self.get("Cluster", name)
            st = (c or {}).get("status", {})
            gen = (c or {}).get("metadata", {}).get("generation")
            ready = [x for x in st.get("conditions", []) if x.get("type") == "Ready"]
            return st if (st.get("phase") in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
                          and st.get("observedGeneration") == gen
                          and ready and ready[0]["status"] == "True") else None
        try:
            return wait_for(check, timeout, f"cluster {name} built and Ready")
        except AssertionError:
            raise AssertionError(f"cluster {name} never settled: {self.get('Cluster', name)}\n"
                                 f"log tail:\n{self.proc.output()[-3000:]}")

    def wait_gone(self, kind, name, timeout=60):
        wait_for(lambda: self.get(kind, name) is None, timeout, f"{kind} {name} to be gone")

    def events(self, name):
        status, _, body = self.call("GET", f"{API}/namespaces/{NS}/events")
        if status != 200:
            return []
        return [e for e in body.get("items", [])
                if e.get("spec", {}).get("involvedObject", {}).get("name") == name]

    def sim_url(self):
        with open(os.path.join(self.data_dir, "clouds.yaml")) as f:
            auth = yaml.safe_load(f)["clouds"]["magnumd-dev"]["auth"]["auth_url"]
        return auth.split("/identity")[0]


class Cloud:
    """cloudsim seen from outside: its /sim/v1 API and Heat's stack list."""

    def __init__(self, url):
        self.url = url

    def servers(self):
        status, _, body = request("GET", self.url + "/sim/v1/servers?limit=100000")
        assert status == 200, body
        return [s for s in body["servers"] if s["status"] != "DELETED"]

    def stats(self):
        return request("GET", self.url + "/sim/v1/stats")[2]

    def faults(self, body):
        status, _, out = request("POST", self.url + "/sim/v1/faults", body)
        assert status == 200, out

    def clear_faults(self):
        request("DELETE", self.url + "/sim/v1/faults")

    def delete_server(self, server_id):
        status, _, body = request("DELETE", self.url + f"/sim/v1/servers/{server_id}")
        assert status == 204, body

    def delete_stack(self, stack_id):
        status, _, body = request("DELETE", self.url + f"/sim/v1/stacks/{stack_id}")
        assert status == 204, body

    def stacks(self):
        """Live stacks of project demo, through Heat's API (retried: faults may be injected)."""
        import urllib.error
        for attempt in range(50):
            try:
                return self._stacks()
            except (urllib.error.HTTPError, AssertionError, KeyError):
                time.sleep(0.1)
        return self._stacks()

    def _stacks(self):
        auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "demo", "domain": {"name": "Default"}, "password": "password"}}},
            "scope": {"project": {"name": "demo", "domain": {"name": "Default"}}}}}
        status, headers, body = request("POST", self.url + "/identity/v3/auth/tokens", auth)
        assert status == 201, body
        token = headers.get("X-Subject-Token") or headers.get("x-subject-token")
        project = body["token"]["project"]["id"]
        req_headers_token = token
        import urllib.request
        req = urllib.request.Request(self.url + f"/heat-api/v1/{project}/stacks?limit=100000")
        req.add_header("X-Auth-Token", req_headers_token)
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read().decode())["stacks"]


def load_examples():
    docs = []
    for name in sorted(os.listdir(os.path.join(SOURCE_DIR, "examples"))):
        if name.endswith((".yaml", ".yml")):
            with open(os.path.join(SOURCE_DIR, "examples", name)) as f:
                docs += [d for d in yaml.safe_load_all(f) if d]
    return docs


def template(name="k8s-small"):
    return {"apiVersion": "container-infra/v1", "kind": "ClusterTemplate",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"coe": "kubernetes", "image": "fedora-coreos-38", "keypair": "demo-key",
                     "externalNetwork": "public", "flavor": "m1.small", "masterFlavor": "m1.medium",
                     "labels": {"kube_tag": "v1.32.4"}}}


def cluster(name, masters=1, workers=1, tmpl="k8s-small"):
    return {"apiVersion": "container-infra/v1", "kind": "Cluster",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"clusterTemplate": tmpl, "masterCount": masters, "nodeCount": workers}}


def start_cloudsim(tmp_path, procs, extra=()):
    """A separate cloudsim process (it survives magnumd's kills) and a clouds.yaml for it."""
    port = free_port()
    proc = Process([binary("cloudsim"), "--listen", f"127.0.0.1:{port}", "--seed", "7",
                    "--server-build-seconds", "0.2", "--delete-seconds", "0.2", *extra],
                   port, str(tmp_path / "cloudsim.log"))
    procs.append(proc)
    wait_ready(proc.url, "/identity/v3", timeout=30, proc=proc)
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(yaml.safe_dump({"clouds": {"magnumd-e2e": {
        "auth": {"auth_url": proc.url + "/identity/v3", "username": "demo", "password": "password",
                 "project_name": "demo", "user_domain_name": "Default",
                 "project_domain_name": "Default"},
        "region_name": "RegionOne", "interface": "public", "identity_api_version": 3}}}))
    return proc, str(clouds)


def converged(m, cloud, desired, deleted):
    """None, or a description of the first way the system differs from `desired`
    ({cluster: nodeCount}) and `deleted` (names that must be gone, with their cloud resources)."""
    stacks = cloud.stacks()
    servers = cloud.servers()
    for name, workers in desired.items():
        c = m.get("Cluster", name)
        if c is None:
            return f"{name} missing"
        st = c.get("status", {})
        if st.get("phase") not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
            return f"{name} is {st.get('phase')}: {st.get('statusReason')}"
        if st.get("observedGeneration") != c["metadata"]["generation"]:
            return f"{name} status is for an older generation"
        mine = [s for s in stacks if s["stack_name"].startswith(name + "-")]
        if len(mine) != 1:
            return f"{name} has {len(mine)} stacks"
        nodes = [s for s in servers if s["name"].startswith(name + "-")]
        if len(nodes) != 1 + workers or any(s["status"] != "ACTIVE" for s in nodes):
            return f"{name} has servers {[(s['name'], s['status']) for s in nodes]}, want 1+{workers}"
    for name in deleted:
        if m.get("Cluster", name) is not None:
            return f"{name} still exists"
        if [s for s in stacks if s["stack_name"].startswith(name + "-")]:
            return f"{name} still has a stack"
        if [s for s in servers if s["name"].startswith(name + "-")]:
            return f"{name} still has servers"
    return None
