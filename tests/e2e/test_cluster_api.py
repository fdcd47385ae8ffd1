"""magnumd looks at each Kubernetes cluster through the cluster's own API: `magnumd --dev`, whose
embedded cloudsim serves a simulated kube-apiserver per cluster once its nodes boot from
magnumd's user_data. CREATE_COMPLETE comes only once every server is a Ready Node; cloudsim's
faults (a node NotReady, the API server stopped, /readyz failing) show in the conditions and
health; a node that does not become Ready within nodeStartupTimeout fails the operation."""
import http.client
import json
import threading
import time

import pytest

from conftest import request
from reconcile_util import API, NS, Magnumd, cluster, template, wait_for


@pytest.fixture
def dev(tmp_path, procs):
    return Magnumd(tmp_path, procs, extra=["--api-probe-interval", "0.3"])


class ClusterWatch:
    """Every status a cluster goes through, from magnumd's watch stream, read on a thread."""

    def __init__(self, m, name):
        self.name = name
        self.statuses = []
        self.lock = threading.Lock()
        self.conn = http.client.HTTPConnection("127.0.0.1", m.port, timeout=120)
        self.conn.request("GET", f"{API}/namespaces/{NS}/clusters?watch=true",
                          headers={"Authorization": f"Bearer {m.token}"})
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            for line in self.resp:
                event = json.loads(line)
                obj = event.get("object", {})
                if obj.get("metadata", {}).get("name") == self.name and obj.get("status"):
                    with self.lock:
                        self.statuses.append(obj["status"])
        except Exception:  # closed when the test ends
            pass

    def seen(self):
        with self.lock:
            return list(self.statuses)


def conditions(status):
    return {c["type"]: c for c in status.get("conditions", [])}


def sim_cluster(m, stack_id):
    status, _, body = request("GET", m.sim_url() + "/sim/v1/clusters")
    assert status == 200, body
    return next((c for c in body["clusters"] if c["stack_id"] == stack_id), None)


def sim_post(m, path, body):
    status, _, out = request("POST", m.sim_url() + "/sim/v1/clusters/" + path, body)
    assert status == 200, out


def status_where(m, name, predicate, what, timeout=30):
    return wait_for(lambda: (lambda st: st if predicate(st) else None)(
        (m.get("Cluster", name) or {}).get("status", {})), timeout, what)


def test_complete_only_once_every_node_is_ready_and_faults_show(dev):
    m = dev
    m.apply(template())
    watch = ClusterWatch(m, "prod")
    m.apply(cluster("prod", masters=1, workers=2))
    st = m.wait_phase("prod", "CREATE_COMPLETE", timeout=60)

    # The API magnumd talks to is cloudsim's simulated kube-apiserver for this stack.
    sim = sim_cluster(m, st["stackId"])
    assert sim is not None and st["apiAddress"] == sim["api_address"], (st, sim)
    assert st["coeVersion"] == sim["version"] == "v1.32.4"
    assert st["api"] == {"reachable": True, "nodes": 3, "readyNodes": 3, "expectedNodes": 3}, st
    assert st["healthStatus"] == "HEALTHY", st
    assert st["healthStatusReason"] == {"api": "ok", "prod-default-master-0.Ready": "True",
                                        "prod-default-worker-0.Ready": "True",
                                        "prod-default-worker-1.Ready": "True"}, st
    cond = conditions(st)
    assert cond["ControlPlaneReady"]["status"] == "True", cond
    assert cond["NodesReady"]["reason"] == "AllNodesReady", cond
    assert cond["Ready"]["status"] == "True", cond

    # The way there: the stack completed first, and the cluster waited for its API and nodes.
    seen = wait_for(lambda: [s for s in watch.seen() if s.get("phase") == "CREATE_COMPLETE"] and watch.seen(),
                    10, "the watch to catch up")
    waited = [s for s in seen if s.get("phase") == "CREATE_IN_PROGRESS"
              and conditions(s).get("StackReady", {}).get("status") == "True"]
    assert waited, [(s.get("phase"), s.get("statusReason")) for s in seen]
    assert "is complete; waiting for" in waited[0]["statusReason"], waited[0]
    for s in seen:
        if s.get("phase") == "CREATE_COMPLETE":
            assert s["api"]["readyNodes"] == s["api"]["expectedNodes"] == 3, s

    # A node turns NotReady: NodesReady, Ready and health say which; the create stays complete.
    sim_post(m, f"{st['stackId']}/nodes/prod-default-worker-1", {"ready": False})
    st = status_where(m, "prod", lambda s: conditions(s).get("NodesReady", {}).get("status") == "False",
                      "NodesReady False")
    cond = conditions(st)
    assert st["phase"] == "CREATE_COMPLETE", st
    assert cond["NodesReady"]["reason"] == "NodesNotReady", cond
    assert cond["NodesReady"]["message"].startswith(
        "2/3 expected nodes are Ready Nodes; prod-default-worker-1: NotReady (KubeletNotReady"), cond
    assert cond["Ready"]["status"] == "False"
    assert st["healthStatus"] == "UNHEALTHY"
    assert st["healthStatusReason"]["prod-default-worker-1.Ready"] == "False"
    assert st["api"]["readyNodes"] == 2
    sim_post(m, f"{st['stackId']}/nodes/prod-default-worker-1", {"ready": True})
    status_where(m, "prod", lambda s: s.get("healthStatus") == "HEALTHY", "HEALTHY again")

    # The API server stops, then comes back failing /readyz, then recovers.
    sim_post(m, st["stackId"], {"api_running": False})
    st = status_where(m, "prod", lambda s: not s.get("api", {}).get("reachable", True), "API unreachable")
    cond = conditions(st)
    assert cond["ControlPlaneReady"]["reason"] == "APIUnreachable", cond
    assert "Connection refused" in cond["ControlPlaneReady"]["message"], cond
    assert cond["NodesReady"]["status"] == "Unknown", cond
    assert st["phase"] == "CREATE_COMPLETE" and st["healthStatus"] == "UNHEALTHY", st
    assert st["coeVersion"] == "v1.32.4"
    sim_post(m, st["stackId"], {"api_running": True, "healthz_failing": True})
    st = status_where(m, "prod", lambda s: conditions(s).get("ControlPlaneReady", {}).get("reason") == "APINotReady",
                      "ControlPlaneReady APINotReady")
    assert st["api"]["reachable"] is True and st["healthStatus"] == "UNHEALTHY", st
    sim_post(m, st["stackId"], {"healthz_failing": False})
    st = status_where(m, "prod", lambda s: conditions(s).get("Ready", {}).get("status") == "True", "Ready again")
    assert st["healthStatus"] == "HEALTHY"


def test_a_node_that_does_not_become_ready_fails_the_update_naming_it(dev):
    m = dev
    m.apply(template())
    c = cluster("prod", masters=1, workers=1)
    c["spec"]["nodeStartupTimeout"] = "30s"
    m.apply(c)
    st = m.wait_phase("prod", "CREATE_COMPLETE", timeout=60)

    # With the API server down, no new node can be seen Ready: the scale-up waits, then fails.
    sim_post(m, st["stackId"], {"api_running": False})
    status_where(m, "prod", lambda s: not s.get("api", {}).get("reachable", True), "API unreachable")
    m.patch("Cluster", "prod", {"spec": {"nodeCount": 2}})
    st = status_where(m, "prod", lambda s: s.get("phase") == "UPDATE_IN_PROGRESS"
                      and "is complete; waiting for" in s.get("statusReason", ""), "waiting for nodes")
    assert "the API at " + st["apiAddress"] + " is not reachable" in st["statusReason"], st
    st = m.wait_phase("prod", "UPDATE_FAILED", timeout=60)
    # Every node got the full 30 s from the update, and none was seen Ready in it.
    st = status_where(m, "prod", lambda s: "prod-default-worker-1" in s.get("statusReason", ""),
                      "the new node named")
    assert st["phase"] == "UPDATE_FAILED", st
    assert st["statusReason"] == (
        "nodes prod-default-master-0, prod-default-worker-0, prod-default-worker-1 did not become Ready "
        "in the cluster's API within nodeStartupTimeout (30s): the cluster's API at " + st["apiAddress"]
        + " is not reachable: connecting to " + st["apiAddress"] + ": Connection refused"), st
    assert conditions(st)["Ready"]["status"] == "False"

    # The API comes back with every node Ready: the update completes after all.
    sim_post(m, st["stackId"], {"api_running": True})
    st = m.wait_phase("prod", "UPDATE_COMPLETE", timeout=30)
    assert st["api"] == {"reachable": True, "nodes": 3, "readyNodes": 3, "expectedNodes": 3}, st


def test_node_startup_timeout_is_validated(dev):
    m = dev
    m.apply(template())
    bad = cluster("bad")
    bad["spec"]["nodeStartupTimeout"] = "5s"
    status, _, body = m.call("POST", m.path("Cluster"), bad)
    assert status == 422, body
    assert body["details"]["causes"][0]["field"] == "spec.nodeStartupTimeout", body
    assert '"5s" is out of range' in body["details"]["causes"][0]["message"], body
