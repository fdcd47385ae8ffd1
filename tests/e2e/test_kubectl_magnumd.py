"""kubectl and magnumctl against `magnumd --dev` with nothing but the kubeconfig it writes: HTTPS
with the CA magnumd made in its data directory, the admin token, namespace demo. The real kubectl
(v1.32 on PATH) shows the columns `magnumctl get` shows, because magnumd answers its
`as=Table` requests (meta.k8s.io/v1 Tables); `-o wide` adds the priority-1 columns; and
`kubectl get -w` prints a row for each change of a cluster. magnumd serves /openapi/v3, so
`kubectl apply` validates with no flag (through the server: fieldValidation=Strict) and
`kubectl explain` prints what `magnumctl explain` prints. Server-side apply keeps field managers
(a second manager changing a field conflicts until it forces), `kubectl diff` shows a change
through a dry run without making it, and `kubectl edit`, `wait` and `delete` work as on
Kubernetes.
"""
import json
import os
import queue
import stat
import re
import shutil
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import Process, binary, free_port, SOURCE_DIR

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH")

CLUSTER_COLUMNS = ["NAME", "PHASE", "HEALTH", "MASTERS", "NODES", "AGE"]
DONE = ("CREATE_COMPLETE", "UPDATE_COMPLETE")
CLUSTER_WIDE = ["TEMPLATE", "API ADDRESS", "VERSION", "ROLLOUT", "READY NODES", "STACK", "REASON"]


class Dev:
    """magnumd --dev serving HTTPS (no --dev-plain-http), with fast reconcile settings."""

    def __init__(self, tmp_path, procs, extra_args=()):
        self.port = free_port()
        self.data = tmp_path / "data"
        self.home = tmp_path / "home"  # kubectl's discovery cache, away from the real HOME
        self.home.mkdir()
        args = [binary("magnumd"), "--dev", "--listen", f"127.0.0.1:{self.port}",
                "--data-dir", str(self.data), "--sync-interval", "0.3", "--sweep-pages", "1",
                "--dev-server-build-seconds", "0.3", "--workers", "4", *extra_args]
        self.proc = Process(args, self.port, str(tmp_path / "magnumd.log"), scheme="https")
        procs.append(self.proc)
        self.kubeconfig = str(self.data / "kubeconfig")
        self.wait_ready()

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.proc.poll() is not None:
                raise RuntimeError(f"magnumd exited:\n{self.proc.output()}")
            try:
                context = ssl.create_default_context(cafile=str(self.data / "ca.crt"))
                with urllib.request.urlopen(self.proc.url + "/readyz", timeout=2,
                                            context=context) as r:
                    if r.status == 200 and os.path.exists(self.kubeconfig):
                        return
            except (OSError, ssl.SSLError) as e:
                last = e
            time.sleep(0.1)
        raise TimeoutError(f"magnumd not ready over HTTPS: {last}\n{self.proc.output()}")

    def env(self):
        """Only the kubeconfig: no MAGNUMD_* variable reaches either tool."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAGNUMD_")}
        env.update(KUBECONFIG=self.kubeconfig, HOME=str(self.home),
                   KUBECACHEDIR=str(self.home / "cache"))
        return env

    def kubectl(self, *args, check=True, timeout=60, input=None):
        out = subprocess.run(["kubectl", *args], capture_output=True, text=True, env=self.env(),
                             timeout=timeout, input=input)
        if check:
            assert out.returncode == 0, f"kubectl {' '.join(args)}: {out.stdout}{out.stderr}"
        return out

    def magnumctl(self, *args):
        out = subprocess.run([binary("magnumctl"), *args], capture_output=True, text=True,
                             env=self.env(), timeout=60)
        assert out.returncode == 0, f"magnumctl {' '.join(args)}: {out.stdout}{out.stderr}"
        return out

    def wait_phase(self, name, phases, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.kubectl("get", "cluster", name, "-o", "jsonpath={.status.phase}", check=False)
            if out.stdout.strip() in phases:
                return
            time.sleep(0.3)
        status = self.kubectl("get", "cluster", name, "-o", "jsonpath={.status}", check=False)
        raise AssertionError(f"cluster {name} not {phases}; status: {status.stdout}\n"
                             f"magnumd log:\n{self.proc.output()[-3000:]}")


def columns(line):
    """A table line's cells: kubectl and magnumctl both separate columns by 3+ spaces."""
    return re.split(r"\s{2,}", line.strip())


@pytest.fixture
def dev(tmp_path, procs):
    m = Dev(tmp_path, procs)
    m.kubectl("apply", "-f", os.path.join(SOURCE_DIR, "examples"))  # validation on
    # big-workers may arrive while prod's stack is still being created; the stack is then updated
    # once more and prod ends UPDATE_COMPLETE rather than CREATE_COMPLETE.
    m.wait_phase("prod", DONE)
    return m


def test_dev_writes_its_tls_files_and_kubeconfig_privately(dev):
    for name in ("kubeconfig", "ca.key", "tls.key", "admin.token"):
        assert oct(os.stat(dev.data / name).st_mode & 0o777) == "0o600", name
    log = dev.proc.output()
    assert f"export KUBECONFIG={dev.kubeconfig}" in log, log
    assert "kubectl get clusters -A" in log
    config = dev.kubectl("config", "view", "--minify", "-o",
                         "jsonpath={.clusters[0].cluster.server} {.contexts[0].context.namespace}")
    assert config.stdout == f"https://127.0.0.1:{dev.port} demo"


def test_kubectl_gets_the_same_columns_as_magnumctl(dev):
    out = dev.kubectl("get", "clusters", "-A").stdout.splitlines()
    assert columns(out[0]) == ["NAMESPACE"] + CLUSTER_COLUMNS, out
    prod = [columns(line) for line in out[1:] if columns(line)[1] == "prod"]
    assert prod and prod[0][0] == "demo" and prod[0][2] in DONE, out
    assert prod[0][4] == "1/1", out  # MASTERS: seen over spec.masterCount

    wide = dev.kubectl("get", "clusters", "-o", "wide").stdout.splitlines()
    assert columns(wide[0]) == CLUSTER_COLUMNS + CLUSTER_WIDE, wide
    row = columns(wide[1])
    assert row[0] == "prod" and row[6] == "k8s-small" and row[7].startswith("https://"), wide

    templates = dev.kubectl("get", "clustertemplates").stdout.splitlines()
    assert columns(templates[0]) == ["NAME", "COE", "IMAGE", "NETWORK", "PUBLIC", "AGE"], templates
    assert columns(templates[1])[:3] == ["k8s-small", "kubernetes", "ubuntu-2204-kube-v1.32.4"]

    groups = dev.kubectl("get", "nodegroups").stdout.splitlines()
    assert columns(groups[0]) == ["NAME", "CLUSTER", "ROLE", "NODES", "MIN", "MAX", "PHASE", "AGE"]
    assert "big-workers" in "\n".join(groups)

    one = dev.kubectl("get", "cluster", "prod").stdout.splitlines()
    assert columns(one[0]) == CLUSTER_COLUMNS and columns(one[1])[0] == "prod", one

    # magnumctl with only KUBECONFIG set: the same headers, the same cluster.
    mine = dev.magnumctl("get", "clusters", "-A").stdout.splitlines()
    assert columns(mine[0]) == columns(out[0]), (mine, out)
    assert any(columns(line)[:2] == ["demo", "prod"] and columns(line)[2] in DONE
               for line in mine[1:]), mine
    mine_wide = dev.magnumctl("get", "clusters", "-o", "wide").stdout.splitlines()
    assert columns(mine_wide[0]) == columns(wide[0]), (mine_wide, wide)


def test_kubectl_get_watch_prints_each_change_as_a_row(dev):
    watch = subprocess.Popen(["kubectl", "get", "clusters", "-w"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, env=dev.env())
    lines = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in watch.stdout],
                              daemon=True)
    reader.start()
    seen = []

    def wait_line(predicate, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                assert watch.poll() is None, f"kubectl get -w ended: {seen}"
                continue
            seen.append(line.rstrip("\n"))
            if predicate(columns(line)):
                return columns(line)
        raise AssertionError(f"no such row within {timeout}s; kubectl printed: {seen}")

    try:
        header = wait_line(lambda c: c[0] == "NAME")
        assert header == CLUSTER_COLUMNS
        wait_line(lambda c: c[0] == "prod")
        manifest = ("apiVersion: container-infra/v1\nkind: Cluster\nmetadata: {name: watched}\n"
                    "spec: {clusterTemplate: k8s-small, masterCount: 1, nodeCount: 1}\n")
        out = subprocess.run(["kubectl", "apply", "-f", "-"], input=manifest,
                             capture_output=True, text=True, env=dev.env(), timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        first = wait_line(lambda c: c[0] == "watched")
        assert len(first) >= 5, first
        # The phase moves on without the header being printed again.
        wait_line(lambda c: c[0] == "watched" and c[1] == "CREATE_COMPLETE")
        assert sum(1 for line in seen if columns(line)[0] == "NAME") == 1, seen
    finally:
        watch.kill()
        watch.wait()


def test_kubectl_apply_validates_through_the_server(dev):
    """kubectl 1.32 reads the kind's PATCH operation in /openapi/v3, sees fieldValidation, and
    sends fieldValidation=Strict instead of checking the fields itself: a misspelt field is
    refused, named, and nothing is created."""
    typo = ("apiVersion: container-infra/v1\nkind: Cluster\nmetadata: {name: typo}\n"
            "spec: {clusterTemplate: k8s-small, masterCount: 1, nodeCont: 2}\n")
    out = dev.kubectl("apply", "-f", "-", "-v=6", check=False, input=typo)
    assert out.returncode != 0, out.stdout + out.stderr
    assert 'unknown field "nodeCont"' in out.stderr, out.stderr
    assert "fieldValidation=Strict" in out.stderr, out.stderr  # the POST, as -v=6 logs it
    assert "/openapi/v3/apis/container-infra/v1?hash=" in out.stderr, out.stderr
    assert dev.kubectl("get", "cluster", "typo", check=False).returncode != 0
    # --validate=false asks the server to ignore unknown fields; magnumd refuses them anyway.
    out = dev.kubectl("apply", "--validate=false", "-f", "-", check=False, input=typo)
    assert out.returncode != 0 and 'unknown field "nodeCont"' in out.stderr, out.stderr

    # Applying the examples again changes nothing; a changed field is a merge patch.
    examples = os.path.join(SOURCE_DIR, "examples")
    again = dev.kubectl("apply", "-f", examples).stdout
    assert "cluster.container-infra/prod unchanged" in again, again
    with open(os.path.join(examples, "10-cluster.yaml")) as f:
        scaled = f.read().replace("nodeCount: 2", "nodeCount: 3")
    assert "nodeCount: 3" in scaled
    out = dev.kubectl("apply", "-f", "-", input=scaled).stdout
    assert "cluster.container-infra/prod configured" in out, out
    count = dev.kubectl("get", "cluster", "prod", "-o", "jsonpath={.spec.nodeCount}").stdout
    assert count == "3"
    # An immutable field: the server names it and says why.
    out = dev.kubectl("apply", "-f", "-", check=False,
                      input=scaled.replace("masterCount: 1", "masterCount: 3"))
    assert out.returncode != 0 and "spec.masterCount" in out.stderr, out.stderr
    assert "create a new cluster to change the number of masters" in out.stderr, out.stderr


def substance(text):
    """kubectl and magnumctl wrap and space their output a little differently."""
    return " ".join(text.split())


EXPLAINED = ["cluster", "cluster.spec.nodeCount", "cluster.spec", "cluster.status.conditions",
             "cluster.metadata", "clustertemplates.spec.labels", "clustertemplate.spec.coe",
             "nodegroups.spec", "nodegroup.status.nodes"]


def test_kubectl_explain_prints_what_magnumctl_explain_prints(dev):
    for target in EXPLAINED:
        theirs = dev.kubectl("explain", target).stdout
        mine = dev.magnumctl("explain", target).stdout
        assert substance(theirs) == substance(mine), f"{target}:\n{theirs}\n---\n{mine}"
    node_count = dev.kubectl("explain", "cluster.spec.nodeCount").stdout
    assert "FIELD: nodeCount <integer>" in node_count, node_count
    assert "Servers in the default-worker node group. From 0 to 10000. Default: 1." in node_count
    labels = dev.kubectl("explain", "clustertemplates.spec.labels").stdout
    assert "flannel_backend\t<string>\n  enum: udp, vxlan, host-gw" in labels, labels
    missing = dev.kubectl("explain", "cluster.spec.nodeCont", check=False)
    assert missing.returncode != 0 and "nodeCont" in missing.stderr, missing.stderr


def test_openapi_documents_answer_over_https_with_caching_headers(dev):
    context = ssl.create_default_context(cafile=str(dev.data / "ca.crt"))
    token = (dev.data / "admin.token").read_text().strip()

    def get(path, **headers):
        request = urllib.request.Request(dev.proc.url + path,
                                         headers={"Authorization": f"Bearer {token}", **headers})
        with urllib.request.urlopen(request, context=context, timeout=10) as r:
            return r.status, dict(r.headers), r.read()

    _, _, body = get("/openapi/v3")
    url = json.loads(body)["paths"]["apis/container-infra/v1"]["serverRelativeURL"]
    status, headers, body = get(url)
    assert status == 200 and "immutable" in headers["Cache-Control"], headers
    doc = json.loads(body)
    assert "container-infra.v1.Cluster" in doc["components"]["schemas"]
    _, headers, body = get("/openapi/v2")
    assert json.loads(body)["swagger"] == "2.0"
    try:
        get("/openapi/v2", **{"If-None-Match": headers["ETag"]})
        raise AssertionError("expected 304")
    except urllib.error.HTTPError as e:
        assert e.code == 304


SSA = ("apiVersion: container-infra/v1\nkind: Cluster\nmetadata: {{name: ssa}}\n"
       "spec: {{clusterTemplate: k8s-small, masterCount: 1, nodeCount: {}}}\n")


def managed_fields(dev, kind, name):
    """(manager, operation) -> fieldsV1 of the object, as --show-managed-fields prints them."""
    out = dev.kubectl("get", kind, name, "-o", "json", "--show-managed-fields").stdout
    entries = json.loads(out)["metadata"].get("managedFields", [])
    return {(e["manager"], e["operation"]): e.get("fieldsV1", {}) for e in entries}


def jsonpath(dev, kind, name, path):
    return dev.kubectl("get", kind, name, "-o", f"jsonpath={path}").stdout


def test_server_side_apply_by_two_managers_conflicts_until_forced(dev):
    out = dev.kubectl("apply", "--server-side", "--field-manager=a", "-f", "-", input=SSA.format(1))
    assert "cluster.container-infra/ssa serverside-applied" in out.stdout, out.stdout
    assert "f:nodeCount" in managed_fields(dev, "cluster", "ssa")[("a", "Apply")]["f:spec"]

    # b changes a field a owns: 409, the field and its manager named, nothing changed.
    out = dev.kubectl("apply", "--server-side", "--field-manager=b", "-f", "-",
                      input=SSA.format(2), check=False)
    assert out.returncode != 0, out.stdout
    assert 'Apply failed with 1 conflict: conflict with "a": .spec.nodeCount' in out.stderr, \
        out.stderr
    assert jsonpath(dev, "cluster", "ssa", "{.spec.nodeCount}") == "1"

    out = dev.kubectl("apply", "--server-side", "--field-manager=b", "--force-conflicts", "-f",
                      "-", input=SSA.format(2))
    assert "serverside-applied" in out.stdout, out.stdout
    assert jsonpath(dev, "cluster", "ssa", "{.spec.nodeCount}") == "2"
    managers = managed_fields(dev, "cluster", "ssa")
    assert "f:nodeCount" in managers[("b", "Apply")]["f:spec"], managers
    assert "f:nodeCount" not in managers[("a", "Apply")]["f:spec"], managers
    assert "f:clusterTemplate" in managers[("a", "Apply")]["f:spec"], managers
    # kubectl hides managedFields unless asked, as for any Kubernetes object.
    assert "managedFields" not in dev.kubectl("get", "cluster", "ssa", "-o", "yaml").stdout


def test_kubectl_diff_shows_a_pending_change_without_making_it(dev, tmp_path):
    with open(os.path.join(SOURCE_DIR, "examples", "10-cluster.yaml")) as f:
        changed = f.read().replace("nodeCount: 2", "nodeCount: 4")
    path = tmp_path / "changed.yaml"
    path.write_text(changed)
    rv = jsonpath(dev, "cluster", "prod", "{.metadata.resourceVersion}")
    out = dev.kubectl("diff", "-f", str(path), check=False)
    assert out.returncode == 1, f"exit {out.returncode}: {out.stdout}{out.stderr}"
    assert "-  nodeCount: 2" in out.stdout and "+  nodeCount: 4" in out.stdout, out.stdout
    assert jsonpath(dev, "cluster", "prod", "{.spec.nodeCount}") == "2"
    assert jsonpath(dev, "cluster", "prod", "{.metadata.resourceVersion}") == rv
    # Nothing pending: exit 0 and no output.
    same = dev.kubectl("diff", "-f", os.path.join(SOURCE_DIR, "examples", "10-cluster.yaml"),
                       check=False)
    assert same.returncode == 0 and same.stdout == "", same.stdout + same.stderr


def test_kubectl_edit_through_a_scripted_editor(dev, tmp_path):
    editor = tmp_path / "editor.sh"
    # kubectl runs $KUBE_EDITOR with the file to edit; this one changes spec.nodeCount only.
    editor.write_text("#!/bin/sh\nsed -i '/^spec:/,/^status:/ s/nodeCount: 2/nodeCount: 3/' \"$1\"\n")
    editor.chmod(editor.stat().st_mode | stat.S_IXUSR)
    env = dict(dev.env(), KUBE_EDITOR=str(editor))
    out = subprocess.run(["kubectl", "edit", "cluster", "prod"], capture_output=True, text=True,
                         env=env, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "cluster.container-infra/prod edited" in out.stdout, out.stdout
    assert jsonpath(dev, "cluster", "prod", "{.spec.nodeCount}") == "3"
    managers = managed_fields(dev, "cluster", "prod")
    assert managers[("kubectl-edit", "Update")] == {"f:spec": {"f:nodeCount": {}}}, managers
    assert "f:nodeCount" not in managers[("kubectl-client-side-apply", "Update")]["f:spec"]


def test_kubectl_wait_and_delete(dev):
    dev.kubectl("wait", "--for=condition=Ready", "cluster/prod", "--timeout=120s", timeout=150)
    out = dev.kubectl("delete", "nodegroup", "big-workers", "--timeout=120s", timeout=150)
    assert 'nodegroup.container-infra "big-workers" deleted' in out.stdout, out.stdout
    dev.kubectl("wait", "--for=delete", "nodegroup/big-workers", "--timeout=120s", timeout=150)
    gone = dev.kubectl("get", "nodegroup", "big-workers", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr, gone.stderr
