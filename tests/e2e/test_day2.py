"""Day-2 operations end to end against `magnumd --dev` and its embedded cloudsim: a NotReady node
is drained, replaced and the cluster is HEALTHY again; three of five NotReady workers trip the
short-circuit and nothing is replaced; a kube_tag change rolls every node onto a new revision,
masters first, never with fewer Ready workers than the count."""
import time

import pytest

from conftest import request
from reconcile_util import Cloud, Magnumd, cluster, start_cloudsim, template, wait_for
from test_cluster_api import conditions, sim_cluster, sim_post, status_where


@pytest.fixture
def dev(tmp_path, procs):
    return Magnumd(tmp_path, procs, extra=["--api-probe-interval", "0.3"])


def healing(workers, **check):
    c = cluster("prod", masters=1, workers=workers)
    c["spec"]["healthCheck"] = {"enabled": True, "unhealthyTimeout": "2s",
                                "nodeDrainTimeout": "5s", **check}
    return c


def sim_timeline(m, stack_id, after=None):
    query = f"?after={after}" if after is not None else ""
    status, _, body = request("GET", f"{m.sim_url()}/sim/v1/clusters/{stack_id}/timeline{query}")
    assert status == 200, body
    return body


def servers(m, name):
    st = m.get("Cluster", name)["status"]
    sim = sim_cluster(m, st["stackId"])
    return sorted(n["name"] for n in sim["nodes"]), sim


def test_a_not_ready_node_is_replaced_and_the_cluster_is_healthy_again(dev):
    m = dev
    m.apply(template())
    m.apply(healing(3))
    st = m.wait_phase("prod", "CREATE_COMPLETE", timeout=90)
    assert st["healthCheck"]["healthyNodes"] == 4, st
    names, sim = servers(m, "prod")
    victim = "prod-default-worker-1"
    old_server = next(n["server_id"] for n in sim["nodes"] if n["name"] == victim)
    sim_post(m, f"{st['stackId']}/nodes/{victim}", {"ready": False})

    st = status_where(m, "prod", lambda s: (s.get("healthCheck") or {}).get("remediations"),
                      "the NotReady node to be replaced", timeout=60)
    record = st["healthCheck"]["remediations"][0]
    assert record["node"] == victim and record["reason"] == "NodeNotReady", record
    reasons = {e["spec"]["reason"] for e in m.events("prod")}
    assert {"NodeDraining", "NodeRemediating"} <= reasons, reasons

    # The server is rebuilt under the same name, joins, and the cluster is healthy again.
    def healthy():
        s = m.get("Cluster", "prod")["status"]
        return s if s.get("healthStatus") == "HEALTHY" and s.get("phase") == "UPDATE_COMPLETE" else None
    st = wait_for(healthy, 90, "the cluster HEALTHY and UPDATE_COMPLETE after the replacement")
    names_after, sim = servers(m, "prod")
    assert names_after == names
    new_server = next(n["server_id"] for n in sim["nodes"] if n["name"] == victim)
    assert new_server != old_server
    assert all(n["ready"] for n in sim["nodes"]), sim["nodes"]
    assert conditions(st)["RemediationAllowed"]["status"] == "True"


def test_three_of_five_not_ready_trip_the_short_circuit(dev):
    m = dev
    m.apply(template())
    m.apply(healing(5))
    st = m.wait_phase("prod", "CREATE_COMPLETE", timeout=90)
    for i in range(3):
        sim_post(m, f"{st['stackId']}/nodes/prod-default-worker-{i}", {"ready": False})
    st = status_where(
        m, "prod",
        lambda s: conditions(s).get("RemediationAllowed", {}).get("reason") == "TooManyUnhealthy",
        "the short-circuit", timeout=60)
    assert "3 of 5 nodes are unhealthy" in conditions(st)["RemediationAllowed"]["message"]
    assert len(st["healthCheck"]["unhealthy"]) == 3
    assert st["healthStatus"] == "UNHEALTHY"
    # It stays that way: nothing is replaced.
    time.sleep(3)
    st = m.get("Cluster", "prod")["status"]
    assert not st["healthCheck"].get("remediations"), st["healthCheck"]
    assert st["phase"] == "CREATE_COMPLETE"


def test_a_kube_tag_change_rolls_every_node_masters_first(dev):
    m = dev
    m.apply(template())
    m.apply(cluster("prod", masters=1, workers=2))
    st = m.wait_phase("prod", "CREATE_COMPLETE", timeout=90)
    before, sim = servers(m, "prod")
    assert before == ["prod-default-master-0", "prod-default-worker-0", "prod-default-worker-1"]
    assert {n["version"] for n in sim["nodes"]} == {"v1.32.4"}
    started = sim_timeline(m, st["stackId"])["last_seq"]

    m.patch("Cluster", "prod", {"spec": {"labels": {"kube_tag": "v1.33.1"}}})
    st = m.wait_phase("prod", "UPDATE_IN_PROGRESS", timeout=30)
    assert st["rollout"]["targetVersion"] == "v1.33.1", st["rollout"]

    min_ready_workers = [10]

    def done():
        s = m.get("Cluster", "prod")["status"]
        sim = sim_cluster(m, s["stackId"])
        ready = sum(1 for n in sim["nodes"] if n["ready"] and "worker" in n["name"])
        min_ready_workers[0] = min(min_ready_workers[0], ready)
        return s if s.get("phase") == "UPDATE_COMPLETE" and s["rollout"]["phase"] == "Complete" else None
    try:
        st = wait_for(done, 120, "the rolling upgrade to complete")
    except AssertionError:
        raise AssertionError(f"{m.get('Cluster', 'prod')['status']}\n{servers(m, 'prod')}\n"
                             f"{m.proc.output()[-4000:]}")
    after, sim = servers(m, "prod")
    assert after == ["prod-default-master-r1-0", "prod-default-worker-r1-0",
                     "prod-default-worker-r1-1"], after
    assert st["rollout"]["updatedNodes"] == 3
    assert {n["version"] for n in sim["nodes"]} == {"v1.33.1"}, sim["nodes"]
    assert sim["version"] == "v1.33.1"
    assert min_ready_workers[0] >= 2, "maxUnavailable 0: never fewer Ready workers than nodeCount"
    # cloudsim's own record of every instant: never fewer Ready workers than nodeCount.
    summary = sim_timeline(m, st["stackId"], after=started)["summary"]
    assert summary["workers"]["min_ready"] >= 2, summary
    reasons = [e["spec"]["reason"] for e in m.events("prod")]
    assert "NodeDraining" in reasons


def test_a_rollout_to_an_image_that_never_gets_ready_stalls_and_reverting_recovers(dev):
    m = dev
    m.apply(template())
    newer = template("k8s-next")
    newer["spec"]["image"] = "ubuntu-2204-kube-v1.33.1"
    newer["spec"]["labels"]["kube_tag"] = "v1.33.1"
    m.apply(newer)
    c = cluster("prod", masters=1, workers=2)
    c["spec"]["nodeStartupTimeout"] = "30s"
    m.apply(c)
    m.wait_phase("prod", "CREATE_COMPLETE", timeout=90)
    before, _ = servers(m, "prod")
    status, _, body = request("POST", m.sim_url() + "/sim/v1/faults",
                              {"never_ready_images": ["ubuntu-2204-kube-v1.33.1"]})
    assert status == 200, body

    m.patch("Cluster", "prod", {"spec": {"clusterTemplate": "k8s-next"}})
    st = m.wait_phase("prod", "UPDATE_FAILED", timeout=90)
    assert st["rollout"]["phase"] == "Stalled", st["rollout"]
    assert "prod-default-master-r1-0" in st["statusReason"], st["statusReason"]
    names, sim = servers(m, "prod")
    assert names == sorted(before + ["prod-default-master-r1-0"]), "one new node, no old one touched"

    # Back to the template it started from: the stuck node goes, the old ones stay.
    m.patch("Cluster", "prod", {"spec": {"clusterTemplate": "k8s-small"}})
    def back():
        s = m.get("Cluster", "prod")["status"]
        return s if s.get("phase") == "UPDATE_COMPLETE" and s["rollout"]["phase"] == "Complete" else None
    wait_for(back, 90, "the reverted rollout to complete")
    names, sim = servers(m, "prod")
    assert names == before
    assert {n["version"] for n in sim["nodes"]} == {"v1.32.4"}


def test_sigkills_during_the_upgrade_of_ten_clusters_leave_each_upgraded_without_leaks(
        tmp_path, procs):
    sim, clouds = start_cloudsim(tmp_path, procs)
    m = Magnumd(tmp_path, procs, clouds_yaml=clouds, extra=["--api-probe-interval", "0.3"])
    cloud = Cloud(sim.url)
    m.apply(template())
    names = [f"c{i}" for i in range(10)]
    for name in names:
        m.apply(cluster(name, masters=1, workers=1))
    for name in names:
        m.wait_phase(name, "CREATE_COMPLETE", timeout=120)
    for name in names:
        m.patch("Cluster", name, {"spec": {"labels": {"kube_tag": "v1.33.1"}}})
    for delay in (0.2, 0.5, 0.3, 0.8, 0.4, 1.0, 0.6, 1.2, 0.7, 1.5):
        time.sleep(delay)
        m.proc.kill()
        m.restart()

    def upgraded():
        for name in names:
            s = (m.get("Cluster", name) or {}).get("status", {})
            if s.get("phase") != "UPDATE_COMPLETE" or (s.get("rollout") or {}).get("phase") != "Complete":
                return None
        return True
    try:
        wait_for(upgraded, 240, "every cluster upgraded")
    except AssertionError:
        raise AssertionError({n: (m.get("Cluster", n) or {}).get("status", {}).get("statusReason")
                              for n in names})
    servers_now = cloud.servers()
    for name in names:
        mine = sorted(s["name"] for s in servers_now if s["name"].startswith(name + "-"))
        assert mine == [f"{name}-default-master-r1-0", f"{name}-default-worker-r1-0"], mine
    assert len(servers_now) == 20, [s["name"] for s in servers_now]
    assert len(cloud.stacks()) == 10
