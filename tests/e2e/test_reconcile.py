"""Reconcile loops end to end: `magnumd --dev` (embedded cloudsim) driven through the REST API,
checked against cloudsim's own view of servers and stacks."""
import pytest

from reconcile_util import Cloud, Magnumd, cluster, load_examples, template, wait_for


@pytest.fixture
def dev(tmp_path, procs):
    m = Magnumd(tmp_path, procs, extra=["--orphan-grace", "1", "--failed-retry", "600"])
    return m, Cloud(m.sim_url())


def servers_of(cloud, cluster_name, group=None):
    prefix = f"{cluster_name}-{group}-" if group else f"{cluster_name}-"
    return sorted(s["name"] for s in cloud.servers() if s["name"].startswith(prefix))


def test_quick_start_scale_and_delete(dev):
    m, cloud = dev
    for doc in load_examples():
        m.apply(doc)
    st = m.wait_phase("prod", "CREATE_COMPLETE", timeout=60)
    assert st["apiAddress"].startswith("https://")
    assert len(st["masterAddresses"]) == 1
    conditions = {c["type"]: c["status"] for c in st["conditions"]}
    assert conditions["Ready"] == "True", st
    # The example cluster: 1 master, 2 default workers, 2 big workers.
    wait_for(lambda: len(servers_of(cloud, "prod")) == 5 and
             len(servers_of(cloud, "prod", "big-workers")) == 2, 30, "5 servers")
    ng = wait_for(lambda: (m.get("NodeGroup", "big-workers") or {}).get("status", {}).get("nodes") and
                  len(m.get("NodeGroup", "big-workers")["status"]["nodes"]) == 2 and
                  m.get("NodeGroup", "big-workers"), 30, "big-workers status")
    assert all(n["status"] == "ACTIVE" and n["serverId"] for n in ng["status"]["nodes"])
    assert len(cloud.stacks()) == 1

    # Scale up, then down.
    m.patch("Cluster", "prod", {"spec": {"nodeCount": 4}})
    m.wait_phase("prod", "UPDATE_COMPLETE", timeout=60)
    wait_for(lambda: len(servers_of(cloud, "prod", "default-worker")) == 4, 30, "4 default workers")
    m.patch("Cluster", "prod", {"spec": {"nodeCount": 1}})
    wait_for(lambda: servers_of(cloud, "prod", "default-worker") == ["prod-default-worker-0"], 60,
             "scale down to the oldest worker")
    m.wait_phase("prod", "UPDATE_COMPLETE", timeout=60)

    # Delete the extra node group: its servers go, then the object.
    m.delete("NodeGroup", "big-workers")
    m.wait_gone("NodeGroup", "big-workers")
    assert servers_of(cloud, "prod", "big-workers") == []

    # Delete the cluster: no stack, no server, no node group left.
    m.delete("Cluster", "prod")
    m.wait_gone("Cluster", "prod")
    assert m.get("NodeGroup", "prod-default-worker") is None
    assert cloud.servers() == []
    assert cloud.stacks() == []


def test_drift_server_and_stack_deleted_out_of_band_come_back(dev):
    m, cloud = dev
    m.apply(template())
    m.apply(cluster("drift", 1, 2))
    m.wait_phase("drift", "CREATE_COMPLETE")
    workers = [s for s in cloud.servers() if s["name"].startswith("drift-default-worker-")]
    victim = workers[0]
    cloud.delete_server(victim["id"])
    wait_for(lambda: len(servers_of(cloud, "drift", "default-worker")) == 2 and
             victim["id"] not in {s["id"] for s in cloud.servers()}, 60, "the deleted worker replaced")
    m.wait_phase("drift", "UPDATE_COMPLETE")

    stack = cloud.stacks()[0]
    cloud.delete_stack(stack["id"])
    wait_for(lambda: [s for s in cloud.stacks() if s["id"] != stack["id"]], 60, "a new stack")
    st = m.wait_phase("drift", "CREATE_COMPLETE", timeout=60)
    assert st["stackId"] != stack["id"]
    assert len(cloud.stacks()) == 1
    assert len(servers_of(cloud, "drift")) == 3
    reasons = [e["spec"]["reason"] for e in m.events("drift")]
    assert "StackRecreated" in reasons, reasons


def test_injected_create_failure_shows_the_cloud_reason_and_recovers(dev):
    m, cloud = dev
    cloud.faults({"fail_stack_create": {"count": 1000, "reason": "No valid host was found"}})
    m.apply(template())
    m.apply(cluster("broken", 1, 1))
    st = m.wait_phase("broken", "CREATE_FAILED", timeout=60)
    assert "No valid host was found" in st["statusReason"], st
    ready = {c["type"]: c for c in st["conditions"]}["Ready"]
    assert ready["status"] == "False"

    cloud.clear_faults()
    m.patch("Cluster", "broken", {"spec": {"createTimeout": 61}})  # touch the spec
    m.wait_phase("broken", "CREATE_COMPLETE", timeout=60)
    assert len([s for s in cloud.stacks() if s["stack_name"].startswith("broken-")]) == 1
    reasons = [e["spec"]["reason"] for e in m.events("broken")]
    assert "StackRetry" in reasons, reasons  # StackCreating alone is emitted by every create
