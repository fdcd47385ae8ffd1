"""With 10% of cloud requests answered 503 and 200 ms added latency, 20 clusters converge."""
from conftest import request
from reconcile_util import Cloud, Magnumd, cluster, converged, start_cloudsim, template, wait_for


def test_twenty_clusters_converge_through_503s_and_latency(tmp_path, procs):
    sim, clouds = start_cloudsim(tmp_path, procs)
    cloud = Cloud(sim.url)
    m = Magnumd(tmp_path, procs, clouds_yaml=clouds, extra=["--failed-retry", "2", "--workers", "8"])
    cloud.faults({"error_rate": 0.1, "error_status": 503, "latency_ms": 200})
    m.apply(template())
    desired = {}
    for i in range(20):
        m.apply(cluster(f"f{i:02d}", 1, 1))
        desired[f"f{i:02d}"] = 1
    wait_for(lambda: converged(m, cloud, desired, set()) is None, 150,
             "20 clusters through faults")
    stats = cloud.stats()
    assert stats["stacks"] == 20


def test_a_cluster_whose_stack_create_answer_is_lost_gets_one_stack(tmp_path, procs):
    """Heat performs the create but its answer is lost: magnumd must adopt the stack it made (the
    name is derived from the cluster's uid), not create a second one."""
    sim, clouds = start_cloudsim(tmp_path, procs)
    cloud = Cloud(sim.url)
    m = Magnumd(tmp_path, procs, clouds_yaml=clouds, extra=["--failed-retry", "1"])
    cloud.faults({"lose_answers": {"count": 1, "service": "heat", "method": "POST"}})
    m.apply(template())
    m.apply(cluster("lost", 1, 1))
    wait_for(lambda: converged(m, cloud, {"lost": 1}, set()) is None, 90, "the cluster to converge")
    assert request("GET", sim.url + "/sim/v1/faults")[2]["lose_answers"]["count"] == 0  # it struck
    assert cloud.stats()["stacks"] == 1
    assert len([s for s in cloud.stacks() if s["stack_name"].startswith("lost-")]) == 1
