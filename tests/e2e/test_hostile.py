"""Hostile requests from an authenticated member against a real magnumd --dev: each is answered
with a 4xx within a second, the daemon stays up with bounded memory, and every object written
before is unchanged afterwards (issue 11 §1)."""
import json
import socket
import subprocess
import time

from conftest import binary, request
from reconcile_util import API, Magnumd, cluster, template

HOSTILE_DEADLINE = 1.0  # seconds for each answer
RSS_GROWTH_LIMIT = 256 * 1024 * 1024


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def snapshot(m):
    """Every object in every kind, keyed by kind/namespace/name, as the API returns it."""
    objects = {}
    for plural in ("clustertemplates", "clusters", "nodegroups"):
        status, _, body = m.call("GET", f"{API}/{plural}")
        assert status == 200, body
        for item in body["items"]:
            meta = item["metadata"]
            objects[f"{plural}/{meta['namespace']}/{meta['name']}"] = item
    return objects


def hostile_cases():
    """(name, method, path, body, content type, extra headers): each must get a 4xx."""
    cluster_path = f"{API}/namespaces/demo/clusters/victim"
    doubling = [{"op": "copy", "from": "/metadata", "path": "/spec/seed"}] + [
        {"op": "copy", "from": "/spec", "path": f"/spec/c{i}"} for i in range(24)]
    scans = [{"op": "add", "path": "/metadata/annotations/m",
              "value": {f"k{i}": 1 for i in range(9000)}}] + [
        {"op": "test", "path": "/metadata/annotations/m/k8999", "value": 1}] * 9000
    too_many_ops = [{"op": "test", "path": "/spec/nodeCount", "value": 1}] * 10001
    many_keys = {"metadata": {"annotations": {f"k{i}": "" for i in range(60000)}}}
    alias_doc = ("a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                 "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                 "d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n")
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [" + ", ".join([f"*{p}"] * 10) + "]\n"
        for p, c in zip("abcdefgh", "bcdefghi"))
    return [
        ("json patch doubling a subtree", "PATCH", cluster_path, json.dumps(doubling),
         "application/json-patch+json"),
        ("json patch scanning a large map", "PATCH", cluster_path, json.dumps(scans),
         "application/json-patch+json"),
        ("json patch with 10,001 operations", "PATCH", cluster_path, json.dumps(too_many_ops),
         "application/json-patch+json"),
        ("merge patch with 60,000 keys", "PATCH", cluster_path, json.dumps(many_keys),
         "application/merge-patch+json"),
        ("yaml alias bomb", "POST", f"{API}/namespaces/demo/clusters", bomb, "application/yaml"),
        ("1,000 yaml documents", "POST", f"{API}/namespaces/demo/clusters",
         "".join("---\n" + alias_doc for _ in range(1000)), "application/yaml"),
        ("yaml nested by indentation", "POST", f"{API}/namespaces/demo/clusters",
         "- " * 100000 + "x\n", "application/yaml"),
        ("json nested 100,000 deep", "POST", f"{API}/namespaces/demo/clusters",
         "[" * 100000 + "]" * 100000, "application/json"),
        ("label selector of 100 requirements and more", "GET",
         f"{API}/clusters?labelSelector=" + ",".join(f"k{i}" for i in range(150)), None, None),
        ("field selector of many terms", "GET",
         f"{API}/clusters?fieldSelector=" + ",".join(f"metadata.name=n{i}" for i in range(40)),
         None, None),
        ("negative watch timeout", "GET", f"{API}/clusters?watch=1&timeoutSeconds=-5", None, None),
    ]


def test_hostile_requests_get_fast_4xx_and_change_nothing(tmp_path, procs):
    m = Magnumd(tmp_path, procs)
    m.apply(template())
    m.apply(cluster("victim", 1, 1))
    big = cluster("annotated", 1, 1)
    big["metadata"]["annotations"] = {"note": "n" * (200 * 1024)}
    m.apply(big)
    for name in ("victim", "annotated"):  # settled, so only hostile requests could change them
        m.wait_phase(name, "CREATE_COMPLETE", timeout=60)
    before = snapshot(m)
    rss_before = rss_bytes(m.proc.proc.pid)

    for name, method, path, body, content_type in hostile_cases():
        started = time.monotonic()
        status, _, answer = request(method, m.url + path, body, token=m.token,
                                    content_type=content_type, timeout=30)
        elapsed = time.monotonic() - started
        assert 400 <= status < 500, f"{name}: {status} {str(answer)[:300]}"
        assert elapsed < HOSTILE_DEADLINE, f"{name}: answered in {elapsed:.2f}s"
        assert isinstance(answer, dict) and answer.get("kind") == "Status", f"{name}: {str(answer)[:300]}"
        assert m.proc.proc.poll() is None, f"{name} stopped magnumd:\n{m.proc.output()[-4000:]}"

    # The object that once crashed the YAML emitter, read back in YAML by curl and magnumctl.
    status, headers, text = request("GET", m.url + f"{API}/namespaces/demo/clusters/annotated",
                                    token=m.token, accept="application/yaml")
    assert status == 200 and "nnnnnnnn" in text, str(text)[:300]
    out = subprocess.run([binary("magnumctl"), "--server", m.url, "--token", m.token, "get",
                          "cluster", "annotated", "-n", "demo", "-o", "yaml"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "n" * 1000 in out.stdout

    assert m.proc.proc.poll() is None
    status, _, _ = request("GET", m.url + "/healthz")
    assert status == 200
    after = snapshot(m)
    changed = {k for k in before if before[k]["metadata"]["resourceVersion"]
               != after.get(k, {}).get("metadata", {}).get("resourceVersion")}
    # Controllers keep reconciling the clusters; their specs and metadata must be untouched.
    for key in changed:
        assert before[key]["spec"] == after[key]["spec"], key
        assert before[key]["metadata"].get("annotations") == after[key]["metadata"].get("annotations"), key
        assert before[key]["metadata"]["generation"] == after[key]["metadata"]["generation"], key
    assert set(after) == set(before), set(after) ^ set(before)
    growth = rss_bytes(m.proc.proc.pid) - rss_before
    assert growth < RSS_GROWTH_LIMIT, f"RSS grew by {growth / 2**20:.0f} MiB"


def raw_exchange(port, head):
    """Sends `head` on a fresh connection and returns the first bytes of the answer and the time
    it took: for requests no HTTP client library sends."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(head)
        answer = s.recv(4096)
    return answer, time.monotonic() - started


def test_oversized_headers_and_bodies_are_refused_before_they_are_read(tmp_path, procs):
    m = Magnumd(tmp_path, procs)
    answer, elapsed = raw_exchange(
        m.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (64 * 1024) + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert elapsed < HOSTILE_DEADLINE
    # A body announced over the 1 MiB limit is refused from its headers, not read first.
    answer, elapsed = raw_exchange(
        m.port, (f"POST {API}/namespaces/demo/clusters HTTP/1.1\r\nHost: x\r\n"
                 f"Authorization: Bearer {m.token}\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {2 * 1024 * 1024}\r\n\r\n").encode())
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"RequestEntityTooLarge" in answer or b"1048576" in answer, answer[:400]
    assert elapsed < HOSTILE_DEADLINE
    status, _, _ = request("GET", m.url + "/healthz")
    assert status == 200
