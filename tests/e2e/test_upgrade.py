"""`magnumctl upgrade cluster` end to end against `magnumd --dev` and its embedded cloudsim: the
cluster rolls onto the template's kube_tag, the ROLLOUT column shows it while it runs, and a
downgrade is refused at admission."""
import os
import re
import subprocess

import pytest

from conftest import binary
from reconcile_util import Magnumd, cluster, template, wait_for
from test_cluster_api import sim_cluster


@pytest.fixture
def dev(tmp_path, procs):
    return Magnumd(tmp_path, procs, extra=["--api-probe-interval", "0.3"])


def magnumctl(m, *args):
    env = dict(os.environ, MAGNUMD_URL=m.url, MAGNUMD_TOKEN=m.token, MAGNUMD_NAMESPACE="demo")
    env.pop("KUBECONFIG", None)
    return subprocess.run([binary("magnumctl"), *args], capture_output=True, text=True, env=env,
                          timeout=180)


def wide_row(m, name):
    """The cluster's `get -o wide` row as {COLUMN: cell}."""
    out = magnumctl(m, "get", "cluster", name, "-o", "wide")
    assert out.returncode == 0, out.stderr
    header, row = (re.split(r"\s{2,}", line.strip()) for line in out.stdout.splitlines()[:2])
    return dict(zip(header, row))


def test_magnumctl_upgrade_rolls_onto_the_template_and_refuses_a_downgrade(dev):
    m = dev
    m.apply(template())
    newer = template("k8s-v133")
    newer["spec"]["labels"]["kube_tag"] = "v1.33.1"
    m.apply(newer)
    m.apply(cluster("prod", masters=1, workers=2))
    m.wait_phase("prod", "CREATE_COMPLETE", timeout=90)
    assert wide_row(m, "prod")["ROLLOUT"] == "Complete"

    out = magnumctl(m, "upgrade", "cluster", "prod", "--template", "k8s-v133",
                    "--max-batch-size", "2")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == ("cluster/prod upgrading to template k8s-v133 (kube_tag v1.33.1, image "
                        "fedora-coreos-38): masters one at a time, then workers at most 2 new at "
                        "a time (maxBatchSize)"), out.stdout
    assert "magnumctl get cluster prod -o wide --watch" in out.stdout
    spec = m.get("Cluster", "prod")["spec"]
    assert spec["clusterTemplate"] == "k8s-v133" and spec["rolloutStrategy"]["maxBatchSize"] == 2

    # The ROLLOUT column while it runs, then once it is done.
    def rolling():
        row = wide_row(m, "prod")
        return row if row["ROLLOUT"].startswith("Progressing") else None
    progressing = wait_for(rolling, 60, "ROLLOUT to show the rollout in progress")
    assert re.fullmatch(r"Progressing [0-3]/3 v1\.33\.1", progressing["ROLLOUT"]), progressing

    def done():
        s = m.get("Cluster", "prod")["status"]
        return s if s.get("phase") == "UPDATE_COMPLETE" and s["rollout"]["phase"] == "Complete" else None
    try:
        st = wait_for(done, 120, "the upgrade to complete")
    except AssertionError:
        raise AssertionError(f"{m.get('Cluster', 'prod')['status']}\n{m.proc.output()[-4000:]}")
    waited = magnumctl(m, "wait", "cluster", "prod", "--for", "condition=Ready", "--timeout", "60s")
    assert waited.returncode == 0, waited.stderr
    sim = sim_cluster(m, st["stackId"])
    assert {n["version"] for n in sim["nodes"]} == {"v1.33.1"}, sim["nodes"]
    row = wide_row(m, "prod")
    assert row["ROLLOUT"] == "Complete" and row["TEMPLATE"] == "k8s-v133", row

    # Back to the older template: refused at admission, nothing changes.
    back = magnumctl(m, "upgrade", "cluster", "prod", "--template", "k8s-small")
    assert back.returncode == 1
    assert ('spec.clusterTemplate: "k8s-small" gives kube_tag v1.32.4, older than v1.33.1, which '
            "the cluster runs; Kubernetes clusters cannot be downgraded") in back.stderr, back.stderr
    status, _, body = m.call("PATCH", m.path("Cluster", "prod"),
                             {"spec": {"labels": {"kube_tag": "v1.32.4"}}},
                             content_type="application/merge-patch+json")
    assert status == 422 and body["details"]["causes"][0]["field"] == "spec.labels.kube_tag", body
    assert m.get("Cluster", "prod")["spec"]["clusterTemplate"] == "k8s-v133"
