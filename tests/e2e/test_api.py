"""magnumd's REST API end to end: the real binary on a free loopback port, a temporary data
directory and a token file. Covers YAML create, 409, 422 causes, 401/403, watch order, restart
with watch resume, 413, TLS, and start-up refusals."""
import base64
import http.client
import json
import os
import queue
import signal
import socket
import ssl
import subprocess
import threading
import time

import pytest

from conftest import Process, binary, free_port, request, wait_ready, SOURCE_DIR

ADMIN = "e2e-admin-token-0001"
MEMBER_A = "e2e-member-token-team-a"
READER = "e2e-reader-token-0001"
API = "/apis/container-infra/v1"

TEMPLATE = {
    "apiVersion": "container-infra/v1", "kind": "ClusterTemplate",
    "metadata": {"name": "k8s", "namespace": "demo"},
    "spec": {"coe": "kubernetes", "image": "fedora-coreos-38", "keypair": "demo-key",
             "externalNetwork": "public", "networkDriver": "flannel", "dockerVolumeSize": 5},
}


def cluster(name, ns="demo", template="k8s", nodes=2):
    return {"apiVersion": "container-infra/v1", "kind": "Cluster",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"clusterTemplate": template, "masterCount": 1, "nodeCount": nodes}}


def write_tokens(path):
    with open(path, "w") as f:
        f.write("# token,user,namespace,role\n")
        f.write(f"{ADMIN},root,*,admin\n{MEMBER_A},alice,team-a,member\n{READER},rita,*,reader\n")


_NO_CONTROLLERS = None


def api_only_flags():
    """--no-controllers when this magnumd has a cloud half: these tests cover the API only."""
    global _NO_CONTROLLERS
    if _NO_CONTROLLERS is None:
        out = subprocess.run([binary("magnumd"), "--help"], capture_output=True, timeout=30)
        _NO_CONTROLLERS = ["--no-controllers"] if b"--no-controllers" in out.stdout else []
    return _NO_CONTROLLERS


def key_file(tmp_path):
    """The encryption key production magnumd requires: 32 random bytes in base64, mode 0600."""
    path = tmp_path / "encryption.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, base64.b64encode(os.urandom(32)) + b"\n")
        os.close(fd)
    return str(path)


def start_magnumd(tmp_path, procs, extra=(), port=None, name="magnumd"):
    port = port or free_port()
    tokens = tmp_path / "tokens.csv"
    if not tokens.exists():
        write_tokens(tokens)
    args = [binary("magnumd"), "--listen", f"127.0.0.1:{port}", "--data-dir",
            str(tmp_path / "data"), "--token-file", str(tokens), "--io-threads", "2",
            "--encryption-key-file", key_file(tmp_path),
            "--watch-bookmark-interval", "1", *api_only_flags(), *extra]
    scheme = "https" if "--tls-cert" in extra else "http"
    proc = Process(args, port, str(tmp_path / f"{name}.log"), scheme=scheme)
    procs.append(proc)
    return proc


@pytest.fixture
def server(tmp_path, procs):
    proc = start_magnumd(tmp_path, procs)
    wait_ready(proc.url, "/readyz", proc=proc)
    return proc


def api(proc, method, path, body=None, token=ADMIN, **kw):
    return request(method, proc.url + API + path, body=body, token=token, **kw)


class Watch:
    """Reads a watch stream's NDJSON lines on a thread."""

    def __init__(self, proc, path, token=ADMIN):
        self.conn = http.client.HTTPConnection("127.0.0.1", proc.port, timeout=30)
        self.conn.request("GET", API + path, headers={"Authorization": f"Bearer {token}"})
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200, self.resp.read()
        self.lines = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            while True:
                line = self.resp.readline()
                if not line:
                    break
                self.lines.put(json.loads(line))
        except Exception as e:  # the connection closes when the test ends
            self.lines.put({"type": "CLOSED", "error": str(e)})
        self.lines.put({"type": "EOF"})

    def next(self, skip_bookmarks=True, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, "no watch event before the deadline"
            event = self.lines.get(timeout=remaining)
            if skip_bookmarks and event["type"] == "BOOKMARK":
                continue
            return event

    def close(self):
        self.conn.close()


def test_yaml_create_with_curl_then_get(server):
    with open(os.path.join(SOURCE_DIR, "examples", "00-clustertemplate.yaml"), "rb") as f:
        yaml_body = f.read()
    out = subprocess.run(
        ["curl", "-sS", "-X", "POST", "-H", f"Authorization: Bearer {ADMIN}",
         "-H", "Content-Type: application/yaml", "--data-binary", "@-",
         "-w", "\n%{http_code}", server.url + API + "/namespaces/demo/clustertemplates"],
        input=yaml_body, capture_output=True, check=True)
    body, code = out.stdout.decode().rsplit("\n", 1)
    assert code == "201", body
    created = json.loads(body)
    assert created["metadata"]["name"] == "k8s-small"
    assert created["spec"]["dnsNameserver"] == "8.8.8.8"
    status, headers, text = api(server, "GET", "/namespaces/demo/clustertemplates/k8s-small",
                                accept="application/yaml")
    assert status == 200
    assert headers["Content-Type"] == "application/yaml"
    assert "kind: ClusterTemplate" in text and "coe: kubernetes" in text


def test_conflict_and_invalid_causes(server):
    assert api(server, "POST", "/namespaces/demo/clustertemplates", TEMPLATE)[0] == 201
    status, _, created = api(server, "POST", "/namespaces/demo/clusters", cluster("prod"))
    assert status == 201, created
    first = json.loads(json.dumps(created))
    first["spec"]["nodeCount"] = 3
    assert api(server, "PUT", "/namespaces/demo/clusters/prod", first)[0] == 200
    created["spec"]["nodeCount"] = 4  # stale resourceVersion
    status, _, body = api(server, "PUT", "/namespaces/demo/clusters/prod", created)
    assert status == 409
    assert body["kind"] == "Status" and body["reason"] == "Conflict" and body["code"] == 409
    assert 'clusters "prod"' in body["message"]

    status, _, body = api(server, "POST", "/namespaces/demo/clusters",
                          {**cluster("bad", nodes=-1), "spec": {"clusterTemplate": "missing",
                                                                "masterCount": 2, "nodeCount": -1}})
    assert status == 422, body
    assert body["reason"] == "Invalid"
    fields = {c["field"] for c in body["details"]["causes"]}
    assert {"spec.clusterTemplate", "spec.masterCount", "spec.nodeCount"} <= fields, body
    status, _, body = api(server, "DELETE", "/namespaces/demo/clustertemplates/k8s")
    assert status == 409 and "demo/prod" in body["message"]


def test_unauthorized_and_forbidden(server):
    assert api(server, "GET", "/clusters", token=None)[0] == 401
    status, headers, body = api(server, "GET", "/clusters", token="wrong-token")
    assert status == 401 and body["reason"] == "Unauthorized"
    assert api(server, "POST", "/namespaces/team-b/clustertemplates",
               {**TEMPLATE, "metadata": {"name": "k8s", "namespace": "team-b"}})[0] == 201
    status, _, body = api(server, "GET", "/namespaces/team-b/clustertemplates/k8s", token=MEMBER_A)
    assert status == 403 and body["reason"] == "Forbidden"
    status, _, body = api(server, "GET", "/clustertemplates", token=MEMBER_A)
    assert status == 200 and body["items"] == []
    status, _, body = api(server, "POST", "/namespaces/team-a/clustertemplates",
                          {**TEMPLATE, "metadata": {"name": "k8s", "namespace": "team-a"}},
                          token=READER)
    assert status == 403
    assert request("GET", server.url + "/healthz")[0] == 200
    assert request("GET", server.url + "/metrics")[0] == 401
    status, _, text = request("GET", server.url + "/metrics", token=READER, accept=None)
    assert status == 200 and "magnumd_api_requests_total" in text


def test_watch_sees_changes_in_order(server):
    assert api(server, "POST", "/namespaces/demo/clustertemplates", TEMPLATE)[0] == 201
    status, _, listed = api(server, "GET", "/namespaces/demo/clusters")
    watch = Watch(server, f"/namespaces/demo/clusters?watch=true&resourceVersion="
                          f"{listed['metadata']['resourceVersion']}")
    try:
        assert api(server, "POST", "/namespaces/demo/clusters", cluster("prod"))[0] == 201
        assert api(server, "PATCH", "/namespaces/demo/clusters/prod", {"spec": {"nodeCount": 3}},
                   content_type="application/merge-patch+json")[0] == 200
        assert api(server, "DELETE", "/namespaces/demo/clusters/prod")[0] == 200
        events = [watch.next() for _ in range(3)]
        assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
        assert rvs == sorted(rvs) and len(set(rvs)) == 3
        assert events[1]["object"]["spec"]["nodeCount"] == 3
        bookmark = watch.next(skip_bookmarks=False, timeout=5)
        assert bookmark["type"] == "BOOKMARK"
        assert int(bookmark["object"]["metadata"]["resourceVersion"]) >= rvs[-1]
    finally:
        watch.close()


def test_restart_keeps_data_and_watch_resumes(tmp_path, procs):
    proc = start_magnumd(tmp_path, procs)
    wait_ready(proc.url, "/readyz", proc=proc)
    assert api(proc, "POST", "/namespaces/demo/clustertemplates", TEMPLATE)[0] == 201
    status, _, a = api(proc, "POST", "/namespaces/demo/clusters", cluster("a"))
    assert status == 201
    resume_from = a["metadata"]["resourceVersion"]
    assert api(proc, "POST", "/namespaces/demo/clusters", cluster("b"))[0] == 201
    watch = Watch(proc, "/namespaces/demo/clusters?watch=true")
    proc.kill(signal.SIGTERM)
    assert proc.proc.returncode == 0, proc.output()
    assert "store closed" in proc.output()
    watch.close()

    proc.start()
    wait_ready(proc.url, "/readyz", proc=proc)
    status, _, got = api(proc, "GET", "/namespaces/demo/clusters/a")
    assert status == 200 and got["metadata"]["uid"] == a["metadata"]["uid"]
    watch = Watch(proc, f"/namespaces/demo/clusters?watch=true&resourceVersion={resume_from}")
    try:
        event = watch.next()
        assert event["type"] == "ADDED" and event["object"]["metadata"]["name"] == "b"
        assert api(proc, "DELETE", "/namespaces/demo/clusters/a")[0] == 200
        event = watch.next()
        assert event["type"] == "DELETED" and event["object"]["metadata"]["name"] == "a"
    finally:
        watch.close()


def test_body_over_one_mebibyte_is_413(server):
    # The client announces the size and waits (Expect: 100-continue, as curl does for large
    # bodies); the server refuses from the headers alone, before any of the body is sent.
    size = (1 << 20) + 1
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall((f"POST {API}/namespaces/demo/clustertemplates HTTP/1.1\r\n"
                      f"Host: 127.0.0.1\r\nAuthorization: Bearer {ADMIN}\r\n"
                      f"Content-Type: application/json\r\nContent-Length: {size}\r\n"
                      f"Expect: 100-continue\r\n\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), data
    status = json.loads(body)
    assert status["kind"] == "Status" and status["reason"] == "RequestEntityTooLarge"
    assert status["code"] == 413


def test_tls_with_self_signed_certificate(tmp_path, procs):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    proc = start_magnumd(tmp_path, procs, ["--tls-cert", str(cert), "--tls-key", str(key)])
    ctx = ssl.create_default_context(cafile=str(cert))
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = http.client.HTTPSConnection("127.0.0.1", proc.port, context=ctx, timeout=5)
            conn.request("GET", API + "/clusters", headers={"Authorization": f"Bearer {ADMIN}"})
            resp = conn.getresponse()
            break
        except (ConnectionRefusedError, ConnectionResetError):
            assert proc.proc.poll() is None, proc.output()
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert resp.status == 200
    assert json.loads(resp.read())["kind"] == "ClusterList"
    # Plain HTTP to the TLS port does not get an API answer.
    plain = http.client.HTTPConnection("127.0.0.1", proc.port, timeout=5)
    with pytest.raises(Exception):
        plain.request("GET", "/healthz")
        plain.getresponse().read()


def test_startup_refusals_are_clear(tmp_path, procs):
    out = subprocess.run([binary("magnumd"), "--data-dir", str(tmp_path / "d"), "--listen",
                          f"127.0.0.1:{free_port()}", *api_only_flags()],
                         capture_output=True, timeout=30)
    assert out.returncode != 0 and b"--token-file" in out.stderr

    bad = tmp_path / "bad.csv"
    bad.write_text("# header\nshort,root,*,superuser\n")
    out = subprocess.run([binary("magnumd"), "--data-dir", str(tmp_path / "d"), "--token-file",
                          str(bad), "--listen", f"127.0.0.1:{free_port()}",
                          "--encryption-key-file", key_file(tmp_path), *api_only_flags()],
                         capture_output=True, timeout=30)
    assert out.returncode != 0 and f"{bad}:2".encode() in out.stderr, out.stderr

    write_tokens(tmp_path / "tokens.csv")
    base = [binary("magnumd"), "--data-dir", str(tmp_path / "d"), "--token-file",
            str(tmp_path / "tokens.csv"), "--listen", f"127.0.0.1:{free_port()}", *api_only_flags()]
    out = subprocess.run(base, capture_output=True, timeout=30)
    assert out.returncode != 0 and b"--encryption-key-file" in out.stderr, out.stderr
    loose = tmp_path / "loose.key"
    loose.write_bytes(base64.b64encode(os.urandom(32)) + b"\n")
    loose.chmod(0o644)
    out = subprocess.run([*base, "--encryption-key-file", str(loose)], capture_output=True, timeout=30)
    assert out.returncode != 0 and b"loose.key" in out.stderr and b"600" in out.stderr, out.stderr
    out = subprocess.run([*base, "--encryption-key-file", str(tmp_path / "absent.key")],
                         capture_output=True, timeout=30)
    assert out.returncode != 0 and b"absent.key" in out.stderr, out.stderr

    first = start_magnumd(tmp_path, procs)
    wait_ready(first.url, "/readyz", proc=first)
    out = subprocess.run([binary("magnumd"), "--data-dir", str(tmp_path / "other"), "--token-file",
                          str(tmp_path / "tokens.csv"), "--listen", f"127.0.0.1:{first.port}",
                          "--encryption-key-file", key_file(tmp_path), *api_only_flags()],
                         capture_output=True, timeout=30)
    assert out.returncode != 0 and b"cannot listen" in out.stderr, out.stderr
    # One process per SQLite data dir: a second one would keep a cache and run controllers of its
    # own on the same database.
    out = subprocess.run([binary("magnumd"), "--data-dir", str(tmp_path / "data"), "--token-file",
                          str(tmp_path / "tokens.csv"), "--listen", f"127.0.0.1:{free_port()}",
                          "--encryption-key-file", key_file(tmp_path), *api_only_flags()],
                         capture_output=True, timeout=30)
    assert out.returncode != 0 and b"another magnumd is using it" in out.stderr, out.stderr
    assert f"pid {first.proc.pid}".encode() in out.stderr, out.stderr


def test_dev_mode_generates_a_private_admin_token(tmp_path, procs):
    port = free_port()
    data = tmp_path / "dev"
    proc = Process([binary("magnumd"), "--dev", "--dev-plain-http", "--listen",
                    f"127.0.0.1:{port}", "--data-dir", str(data), *api_only_flags()], port,
                   str(tmp_path / "dev.log"))
    procs.append(proc)
    wait_ready(proc.url, "/readyz", proc=proc)
    token_file = data / "admin.token"
    assert oct(token_file.stat().st_mode & 0o777) == "0o600"
    token = token_file.read_text().strip()
    assert "export MAGNUMD_TOKEN=$(cat" in proc.output()
    assert request("GET", proc.url + API + "/clusters", token=token)[0] == 200
    assert request("GET", proc.url + API + "/clusters", token="nope-nope")[0] == 401
