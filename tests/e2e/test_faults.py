"""With 10% of cloud requests answered 503 and 200 ms added latency, 20 clusters converge."""
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
