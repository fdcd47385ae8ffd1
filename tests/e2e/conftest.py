"""Shared fixtures for end-to-end suites: real binaries from the build tree, on 127.0.0.1 only.

Every process gets a free loopback port and a temporary data directory, and is killed at the
end of its test. Binaries come from $MAGNUMD_BUILD_DIR (set by ctest), default ./build.
"""
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

BUILD_DIR = os.environ.get("MAGNUMD_BUILD_DIR", os.path.join(os.getcwd(), "build"))
SOURCE_DIR = os.environ.get(
    "MAGNUMD_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


def binary(name):
    """Path of a built executable: cmd/magnumd, cli/magnumctl, cloudsim/cloudsim."""
    for sub in ("cmd", "cli", "cloudsim", ""):
        path = os.path.join(BUILD_DIR, sub, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise FileNotFoundError(f"{name} not found under {BUILD_DIR}")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A started binary; .url is its base URL, .log its combined output file."""

    def __init__(self, args, port, log_path, env=None, scheme="http"):
        self.args = args
        self.port = port
        self.url = f"{scheme}://127.0.0.1:{port}"
        self.log_path = log_path
        self.env = env
        self.proc = None
        self.start()

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=self.env, start_new_session=True)

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def restart(self):
        self.kill()
        self.start()

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")


def wait_ready(url, path="/healthz", timeout=30.0, proc=None):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.proc.returncode}:\n{proc.output()}")
        try:
            with urllib.request.urlopen(url + path, timeout=2) as r:
                if r.status < 500:
                    return
        except urllib.error.HTTPError as e:
            if e.code < 500:
                return
            last = e
        except OSError as e:
            last = e
        time.sleep(0.05)
    raise TimeoutError(f"{url}{path} not ready after {timeout}s: {last}")


def request(method, url, body=None, token=None, content_type="application/json",
            accept="application/json", timeout=30, headers=None):
    """Returns (status, headers, parsed JSON body or raw text). `headers`: extra request headers."""
    data = None
    if body is not None:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        data = data.encode() if isinstance(data, str) else data
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", content_type)
    if accept:
        req.add_header("Accept", accept)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read().decode()
            status, headers = r.status, dict(r.headers)
    except urllib.error.HTTPError as e:
        raw = e.read().decode()
        status, headers = e.code, dict(e.headers)
    try:
        return status, headers, json.loads(raw) if raw else None
    except json.JSONDecodeError:
        return status, headers, raw


@pytest.fixture
def procs():
    """Collects started processes and kills them when the test ends."""
    started = []
    yield started
    for p in started:
        p.kill()


def openstack(auth_url, *args, user="admin", password="password", project=None):
    """The real openstack CLI against `auth_url` (Keystone v3) as `user` scoped to `project`
    (default: the project named like the user); its output, stripped. Fails on a non-zero exit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    cmd = ["openstack", "--os-auth-url", auth_url, "--os-username", user, "--os-password", password,
           "--os-project-name", project or user, "--os-user-domain-name", "Default",
           "--os-project-domain-name", "Default", "--os-identity-api-version", "3", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout.strip()
