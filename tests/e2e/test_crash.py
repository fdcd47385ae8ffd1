"""Crash safety with real kills: 20 clusters created, scaled and deleted while magnumd is
SIGKILLed at random moments and restarted. The cloud (a separate cloudsim) survives the kills.
At the end every cluster is as declared, with exactly one stack each, and nothing is left of
the deleted ones."""
import random
import time

from reconcile_util import Cloud, Magnumd, cluster, converged, start_cloudsim, template, wait_for


def test_sigkill_at_random_moments_converges(tmp_path, procs):
    rng = random.Random(20261125)
    sim, clouds = start_cloudsim(tmp_path, procs)
    cloud = Cloud(sim.url)
    m = Magnumd(tmp_path, procs, clouds_yaml=clouds,
                extra=["--orphan-grace", "2", "--failed-retry", "2"])
    names = [f"c{i:02d}" for i in range(20)]
    m.apply(template())
    desired = {}
    for name in names:
        m.apply(cluster(name, 1, 1))
        desired[name] = 1
    deleted = set()

    actions = []
    for name in names[:10]:
        actions.append(("scale", name, rng.choice([2, 3])))
    for name in names[15:]:
        actions.append(("delete", name, None))
    for name in names[10:13]:
        actions.append(("scale", name, 2))
    rng.shuffle(actions)

    kills = 0
    while kills < 12:
        time.sleep(rng.uniform(0.2, 1.5))
        # A few declarative changes while the reconcilers are mid-flight.
        for _ in range(rng.randint(0, 3)):
            if not actions:
                break
            op, name, count = actions.pop()
            if op == "scale":
                m.patch("Cluster", name, {"spec": {"nodeCount": count}})
                desired[name] = count
            else:
                m.delete("Cluster", name)
                desired.pop(name, None)
                deleted.add(name)
        m.proc.kill()  # SIGKILL
        kills += 1
        m.restart()
    for op, name, count in actions:
        if op == "scale":
            m.patch("Cluster", name, {"spec": {"nodeCount": count}})
            desired[name] = count
        else:
            m.delete("Cluster", name)
            desired.pop(name, None)
            deleted.add(name)

    wait_for(lambda: converged(m, cloud, desired, deleted) is None, 120,
             f"convergence after {kills} kills ({converged(m, cloud, desired, deleted)})")
    # No stack or server that belongs to nobody.
    assert len(cloud.stacks()) == len(desired)
    assert len(cloud.servers()) == sum(1 + w for w in desired.values())
