"""magnumctl against a real `magnumd --dev` on a free loopback port.

Covers what an operator does first: apply a directory of manifests (in dependency order, then
idempotently), get in every output format, describe, watch, wait, delete; and the failures they
must be able to read: 422 with causes, 401 without a token, no server at all.
"""
import datetime
import json
import os
import queue
import shutil
import subprocess
import threading
import time

import pytest

from conftest import Process, binary, free_port, request, wait_ready

HERE = os.path.dirname(os.path.abspath(__file__))
MANIFESTS = os.path.join(HERE, "manifests")
API = "/apis/container-infra/v1/namespaces/default"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("magnumd-cli")
    port = free_port()
    proc = Process([binary("magnumd"), "--listen", f"127.0.0.1:{port}", "--data-dir", str(data),
                    "--dev", "--dev-plain-http"], port, str(data / "magnumd.log"))
    try:
        wait_ready(proc.url, proc=proc)
        token_file = data / "admin.token"
        deadline = time.monotonic() + 30
        while not token_file.exists() or not token_file.read_text().strip():
            assert time.monotonic() < deadline, "magnumd --dev wrote no admin.token"
            time.sleep(0.05)
        proc.token = token_file.read_text().strip()
        yield proc
    finally:
        proc.kill()


def ctl(server, *args, token=None, stdin=None, timeout=60, extra_env=None):
    env = dict(os.environ)
    env.pop("MAGNUMD_NAMESPACE", None)
    env["MAGNUMD_URL"] = server.url
    env["MAGNUMD_TOKEN"] = server.token if token is None else token
    env.update(extra_env or {})
    return subprocess.run([binary("magnumctl"), *args], input=stdin, capture_output=True,
                          text=True, env=env, timeout=timeout)


def api(server, method, path, body=None, content_type="application/json"):
    return request(method, server.url + path, body=body, token=server.token,
                   content_type=content_type)


@pytest.fixture(scope="module")
def applied(server, tmp_path_factory):
    """The three example objects applied once from a directory."""
    work = tmp_path_factory.mktemp("manifests")
    shutil.copytree(os.path.join(MANIFESTS, "cli"), work / "cli")
    result = ctl(server, "apply", "-f", str(work / "cli"))
    assert result.returncode == 0, result.stderr
    return work / "cli", result


def test_version(server):
    result = ctl(server, "version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Client Version: ")
    assert "Server Version: " in result.stdout


def test_apply_directory_creates_in_dependency_order(applied):
    _, result = applied
    assert result.stdout.splitlines() == [
        "clustertemplate/e2e-small created",
        "cluster/e2e-prod created",
        "nodegroup/e2e-big created",
    ]


def test_apply_again_is_unchanged_and_a_change_is_configured(server, applied):
    directory, _ = applied
    again = ctl(server, "apply", "-f", str(directory))
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [
        "clustertemplate/e2e-small unchanged",
        "cluster/e2e-prod unchanged",
        "nodegroup/e2e-big unchanged",
    ]
    cluster = (directory / "02-cluster.yaml").read_text().replace("nodeCount: 2", "nodeCount: 3")
    changed = ctl(server, "apply", "-f", "-", stdin=cluster)
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout.strip() == "cluster/e2e-prod configured"
    status, _, body = api(server, "GET", f"{API}/clusters/e2e-prod")
    assert status == 200
    assert body["spec"]["nodeCount"] == 3
    assert body["spec"]["masterCount"] == 1
    assert body["metadata"]["labels"] == {"suite": "cli", "env": "e2e"}


def test_get_table_and_formats(server, applied):
    table = ctl(server, "get", "clusters")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["NAME", "PHASE", "HEALTH", "MASTERS", "NODES", "AGE"]
    row = next(line for line in lines[1:] if line.startswith("e2e-prod "))
    assert row.split()[-1][-1] in "smhd"  # an age like 3s

    wide = ctl(server, "get", "cl", "-o", "wide")
    assert "TEMPLATE" in wide.stdout.splitlines()[0] and "e2e-small" in wide.stdout

    everywhere = ctl(server, "get", "Clusters", "-A")
    assert everywhere.stdout.splitlines()[0].startswith("NAMESPACE")
    assert any(l.split()[:2] == ["default", "e2e-prod"] for l in everywhere.stdout.splitlines())

    as_json = ctl(server, "get", "cluster", "e2e-prod", "-o", "json")
    assert as_json.returncode == 0, as_json.stderr
    obj = json.loads(as_json.stdout)
    assert obj["kind"] == "Cluster" and obj["metadata"]["name"] == "e2e-prod"

    as_yaml = ctl(server, "get", "ct", "-o", "yaml")
    assert "kind: List" in as_yaml.stdout and "e2e-small" in as_yaml.stdout

    names = ctl(server, "get", "ng", "-o", "name")
    assert "nodegroup/e2e-big" in names.stdout.splitlines()

    templates = ctl(server, "get", "clustertemplates")
    header = templates.stdout.splitlines()[0].split()
    assert header == ["NAME", "COE", "IMAGE", "NETWORK", "PUBLIC", "AGE"]
    assert any(l.split()[:4] == ["e2e-small", "kubernetes", "fedora-coreos-38", "flannel"]
               for l in templates.stdout.splitlines())


def test_get_with_selector_and_not_found(server, applied):
    selected = ctl(server, "get", "clusters", "-l", "env=e2e", "-o", "name")
    assert selected.stdout.splitlines() == ["cluster/e2e-prod"]
    none = ctl(server, "get", "clusters", "-l", "env=nope")
    assert none.returncode == 0
    assert "No resources found in default namespace." in none.stderr
    missing = ctl(server, "get", "cluster", "does-not-exist")
    assert missing.returncode != 0
    assert "Error from server (NotFound)" in missing.stderr


def test_describe_cluster(server, applied):
    result = ctl(server, "describe", "cluster", "e2e-prod")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Name:               e2e-prod" in out
    assert "Namespace:          default" in out
    assert "Cluster Template:" in out and "e2e-small" in out
    assert "Conditions:" in out
    assert "Events:" in out
    assert "last-applied-configuration" not in out


def test_apply_invalid_reports_every_cause(server, applied):
    result = ctl(server, "apply", "-f", os.path.join(MANIFESTS, "cli-invalid-cluster.yaml"))
    assert result.returncode != 0
    assert "Error from server (Invalid)" in result.stderr
    assert "cluster/e2e-bad" in result.stderr
    assert "* spec.masterCount:" in result.stderr
    assert "* spec.nodeCount:" in result.stderr


def test_no_token_is_unauthorized_with_a_hint(server):
    result = ctl(server, "get", "clusters", token="")
    assert result.returncode != 0
    assert "Error from server (Unauthorized)" in result.stderr
    assert "MAGNUMD_TOKEN" in result.stderr


def test_no_server_names_the_url_and_the_variable(server):
    url = f"http://127.0.0.1:{free_port()}"
    result = ctl(server, "get", "clusters", extra_env={"MAGNUMD_URL": url})
    assert result.returncode != 0
    assert url in result.stderr
    assert "MAGNUMD_URL" in result.stderr


def test_bad_arguments_are_explained(server):
    kind = ctl(server, "get", "pods")
    assert kind.returncode != 0 and "clusters (cl)" in kind.stderr
    output = ctl(server, "get", "clusters", "-o", "xml")
    assert output.returncode != 0 and "yaml, json, wide or name" in output.stderr
    timeout = ctl(server, "wait", "cluster", "x", "--for=condition=Ready", "--timeout=soon")
    assert timeout.returncode != 0 and "30s" in timeout.stderr


class Lines:
    """Reads a child's stdout lines on a thread so the test can wait with a deadline."""

    def __init__(self, proc):
        self.queue = queue.Queue()
        self.thread = threading.Thread(target=self._pump, args=(proc,), daemon=True)
        self.thread.start()

    def _pump(self, proc):
        for line in proc.stdout:
            self.queue.put(line.rstrip("\n"))

    def until(self, predicate, timeout=30):
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                line = self.queue.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen.append(line)
            if predicate(line):
                return seen
        raise AssertionError(f"no matching line within {timeout}s; saw {seen}")


def popen_ctl(server, *args):
    env = dict(os.environ, MAGNUMD_URL=server.url, MAGNUMD_TOKEN=server.token)
    return subprocess.Popen([binary("magnumctl"), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def test_get_watch_prints_the_table_then_changes(server, applied):
    watch = popen_ctl(server, "get", "nodegroups", "e2e-big", "--watch")
    try:
        lines = Lines(watch)
        lines.until(lambda l: l.split()[:1] == ["NAME"])
        lines.until(lambda l: l.startswith("e2e-big "))
        status, _, body = api(server, "PATCH", f"{API}/nodegroups/e2e-big",
                              {"spec": {"nodeCount": 4}}, "application/merge-patch+json")
        assert status == 200, body
        # The row for the change: desired count 4 in the NODES column (observed/desired or desired).
        lines.until(lambda l: l.startswith("e2e-big ") and l.split()[3].split("/")[-1] == "4")
    finally:
        watch.kill()
        watch.wait(timeout=10)


def set_condition(server, kind_plural, name, cond_type, status="True"):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    patch = {"status": {"conditions": [{"type": cond_type, "status": status, "reason": "E2e",
                                         "message": "set by the e2e test",
                                         "lastTransitionTime": now}]}}
    return api(server, "PATCH", f"{API}/{kind_plural}/{name}/status", patch,
               "application/merge-patch+json")


def test_wait_for_a_condition_set_later(server, applied):
    waiter = popen_ctl(server, "wait", "cluster", "e2e-prod", "--for=condition=E2eProbe",
                       "--timeout=60s")
    try:
        # Let the waiter reach its watch, then flip the condition; a condition set before the
        # watch starts is seen by the initial GET, so the outcome does not depend on timing.
        time.sleep(0.5)
        status, _, body = set_condition(server, "clusters", "e2e-prod", "E2eProbe")
        assert status == 200, body
        out, err = waiter.communicate(timeout=60)
        assert waiter.returncode == 0, err
        assert out.strip() == "cluster/e2e-prod condition met"
    finally:
        if waiter.poll() is None:
            waiter.kill()


def test_wait_times_out_with_the_current_state(server, applied):
    start = time.monotonic()
    result = ctl(server, "wait", "cluster", "e2e-prod", "--for=condition=NeverSet", "--timeout=1s")
    assert result.returncode != 0
    assert "timed out waiting for the condition on cluster/e2e-prod" in result.stderr
    assert time.monotonic() - start < 20


def test_delete_and_wait_for_deletion(server, applied):
    gone = ctl(server, "delete", "nodegroup", "e2e-big")
    assert gone.returncode == 0, gone.stderr
    assert gone.stdout.strip() == "nodegroup/e2e-big deleted"
    result = ctl(server, "delete", "cluster", "e2e-prod", "--wait", "--timeout=120s", timeout=180)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "cluster/e2e-prod deleted"
    status, _, _ = api(server, "GET", f"{API}/clusters/e2e-prod")
    assert status == 404
    already = ctl(server, "wait", "cluster", "e2e-prod", "--for=delete", "--timeout=5s")
    assert already.returncode == 0, already.stderr
    again = ctl(server, "delete", "cluster", "e2e-prod")
    assert again.returncode != 0 and "NotFound" in again.stderr
    template = ctl(server, "delete", "-f", os.path.join(MANIFESTS, "cli", "03-template.json"))
    assert template.returncode == 0, template.stderr
    assert template.stdout.strip() == "clustertemplate/e2e-small deleted"


def test_https_trusts_the_ca_file_and_checks_the_servers_name(tmp_path):
    """magnumctl over HTTPS: --ca-file makes the server's certificate trusted, for requests and
    for a watch stream; without it, or at a name the certificate does not carry, it refuses and
    says why."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    data = tmp_path / "data"
    port = free_port()
    proc = Process([binary("magnumd"), "--listen", f"127.0.0.1:{port}", "--data-dir", str(data),
                    "--dev", "--tls-cert", str(cert), "--tls-key", str(key)], port,
                   str(tmp_path / "magnumd.log"), scheme="https")
    watch = None
    try:
        token_file = data / "admin.token"
        deadline = time.monotonic() + 30
        while True:
            assert proc.proc.poll() is None, proc.output()
            if token_file.exists() and token_file.read_text().strip():
                proc.token = token_file.read_text().strip()
                version = ctl(proc, "--ca-file", str(cert), "version")
                if version.returncode == 0:
                    break
            assert time.monotonic() < deadline, f"magnumd over HTTPS not ready: {proc.output()}"
            time.sleep(0.1)
        assert "Server Version: " in version.stdout

        env = dict(os.environ, MAGNUMD_URL=proc.url, MAGNUMD_TOKEN=proc.token)
        env.pop("MAGNUMD_NAMESPACE", None)
        watch = subprocess.Popen([binary("magnumctl"), "--ca-file", str(cert), "get",
                                  "clustertemplates", "--watch"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=env)
        lines = Lines(watch)
        applied = ctl(proc, "--ca-file", str(cert), "apply", "-f",
                      os.path.join(MANIFESTS, "cli", "03-template.json"))
        assert applied.returncode == 0, applied.stderr
        lines.until(lambda l: l.startswith("e2e-small "))

        untrusted = ctl(proc, "get", "clustertemplates")
        assert untrusted.returncode != 0
        assert "certificate verify failed" in untrusted.stderr, untrusted.stderr
        assert "--ca-file" in untrusted.stderr, untrusted.stderr

        other_name = ctl(proc, "--ca-file", str(cert), "get", "clustertemplates",
                         extra_env={"MAGNUMD_URL": f"https://localhost:{port}"})
        assert other_name.returncode != 0
        assert "not valid for localhost" in other_name.stderr, other_name.stderr
    finally:
        if watch is not None:
            watch.kill()
            watch.wait(timeout=10)
        proc.kill()
