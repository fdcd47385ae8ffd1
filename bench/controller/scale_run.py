#!/usr/bin/env python3
"""Scale run of the reconcile loops against cloudsim with zero delays (issue 4 §6).

(a) N clusters of 1 master + W workers created at once: seconds until all are CREATE_COMPLETE.
(b) M clusters of 1 + 1 in steady state: cloud calls per sync period (cloudsim /sim/v1/stats),
    magnumd peak RSS and CPU seconds.

    python3 bench/controller/scale_run.py --build-dir build --create 1000 --steady 10000

Prints one table per phase. Uses only 127.0.0.1 and a temporary directory.
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

API = "/apis/container-infra/v1/namespaces/bench"


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(method, url, body=None, token=None, ctype="application/json"):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", ctype)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def wait_http(url, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(url)


def proc_usage(pid):
    """(peak RSS MB, current RSS MB, CPU seconds) of a process."""
    with open(f"/proc/{pid}/status") as f:
        status = {l.split(":")[0]: l.split()[1] for l in f if l.startswith(("VmHWM:", "VmRSS:"))}
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    return int(status["VmHWM"]) / 1024.0, int(status["VmRSS"]) / 1024.0, cpu


class Bench:
    def __init__(self, build_dir, sync_interval, workers, wrap=""):
        self.dir = tempfile.mkdtemp(prefix="magnumd-bench-")
        self.sim_port, self.port = free_port(), free_port()
        self.sim = subprocess.Popen(
            [os.path.join(build_dir, "cloudsim", "cloudsim"), "--listen", f"127.0.0.1:{self.sim_port}",
             "--server-build-seconds", "0", "--delete-seconds", "0", "--seed", "1", "--threads", "1"],
            stdout=open(os.path.join(self.dir, "cloudsim.log"), "wb"), stderr=subprocess.STDOUT)
        self.sim_url = f"http://127.0.0.1:{self.sim_port}"
        wait_http(self.sim_url + "/identity/v3")
        clouds = os.path.join(self.dir, "clouds.yaml")
        with open(clouds, "w") as f:
            f.write(f"""clouds:
  bench:
    auth: {{auth_url: {self.sim_url}/identity/v3, username: demo, password: password,
            project_name: demo, user_domain_name: Default, project_domain_name: Default}}
    region_name: RegionOne
""")
        env = dict(os.environ, OS_CLIENT_CONFIG_FILE=clouds)
        self.magnumd = subprocess.Popen(
            wrap.split() + [os.path.join(build_dir, "cmd", "magnumd"), "--dev", "--dev-plain-http",
             "--os-cloud", "bench",
             "--listen", f"127.0.0.1:{self.port}", "--data-dir", os.path.join(self.dir, "data"),
             "--sync-interval", str(sync_interval), "--workers", str(workers), "--log-level", "warn"],
            env=env, stdout=open(os.path.join(self.dir, "magnumd.log"), "wb"), stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        wait_http(self.url + "/readyz")
        with open(os.path.join(self.dir, "data", "admin.token")) as f:
            self.token = f.read().strip()
        status, body = call("POST", self.url + API + "/clustertemplates", {
            "apiVersion": "container-infra/v1", "kind": "ClusterTemplate",
            "metadata": {"name": "k8s", "namespace": "bench"},
            "spec": {"coe": "kubernetes", "image": "fedora-coreos-38", "keypair": "demo-key",
                     "externalNetwork": "public", "masterLbEnabled": False}}, self.token)
        assert status in (200, 201), body

    def create(self, prefix, count, workers):
        def one(i):
            body = {"apiVersion": "container-infra/v1", "kind": "Cluster",
                    "metadata": {"name": f"{prefix}{i:05d}", "namespace": "bench"},
                    "spec": {"clusterTemplate": "k8s", "masterCount": 1, "nodeCount": workers}}
            status, out = call("POST", self.url + API + "/clusters", body, self.token)
            assert status in (200, 201), out
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(one, range(count)))

    def clusters(self, prefix):
        # In pages of 500, as kubectl lists: one unpaged list of 10,000 clusters is a 30 MB body.
        items, token = [], ""
        while True:
            query = "?limit=500" + (f"&continue={urllib.parse.quote(token)}" if token else "")
            status, body = call("GET", self.url + API + "/clusters" + query, token=self.token)
            assert status == 200, body
            items += [c for c in body["items"] if c["metadata"]["name"].startswith(prefix)]
            token = body["metadata"].get("continue", "")
            if not token:
                return items

    def complete(self, prefix):
        items = self.clusters(prefix)
        done = sum(1 for c in items if c.get("status", {}).get("phase") == "CREATE_COMPLETE")
        return done, len(items)

    def ready_nodes(self, prefix):
        """Ready Nodes the clusters' own (simulated) APIs list, as magnumd last saw them."""
        return sum((c.get("status", {}).get("api") or {}).get("readyNodes", 0)
                   for c in self.clusters(prefix))

    def wait_complete(self, prefix, count, timeout):
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            done, _ = self.complete(prefix)
            if done >= count:
                return time.monotonic() - start
            time.sleep(0.5)
        raise TimeoutError(f"{self.complete(prefix)} complete after {timeout}s")

    def metric(self, name):
        """Sum of a counter over its labels, from magnumd's /metrics."""
        req = urllib.request.Request(self.url + "/metrics")
        req.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read().decode()
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith(name + "{") or line.startswith(name + " "))

    def wait_periods(self, count, timeout):
        """Waits until the observer has ended `count` more sync periods; returns its period count."""
        start = self.metric("magnumd_observer_periods_total")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = self.metric("magnumd_observer_periods_total")
            if now >= start + count:
                return now
            time.sleep(0.02)
        raise TimeoutError(f"{count} observer periods did not end within {timeout}s")

    def status(self, name):
        status, body = call("GET", self.url + API + "/clusters/" + name, token=self.token)
        assert status == 200, body
        return body.get("status", {})

    def wait(self, predicate, timeout, what):
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if predicate():
                return time.monotonic() - start
            time.sleep(0.2)
        raise TimeoutError(what)

    def close(self):
        for name, p in (("magnumd", self.magnumd), ("cloudsim", self.sim)):
            if p.poll() is not None:
                with open(os.path.join(self.dir, f"{name}.log"), errors="replace") as f:
                    print(f"{name} exited with {p.returncode}; its log ends:\n{f.read()[-3000:]}",
                          file=sys.stderr)
        for p in (self.magnumd, self.sim):
            p.terminate()
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        if os.environ.get("SCALE_RUN_KEEP"):
            print(f"kept {self.dir}", file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--create", type=int, default=1000, help="(a) clusters of 1 master + --workers-per-cluster")
    ap.add_argument("--workers-per-cluster", type=int, default=3)
    ap.add_argument("--steady", type=int, default=10000, help="(b) clusters of 1 + 1 (0: skip)")
    ap.add_argument("--sync-interval", type=float, default=2.0)
    ap.add_argument("--periods", type=int, default=10)
    ap.add_argument("--reconcile-workers", type=int, default=8)
    ap.add_argument("--day2", action="store_true",
                    help="(c) health monitoring of the created clusters, (d) detect and replace a "
                         "NotReady node, (e) a 1+3 rolling upgrade")
    ap.add_argument("--wrap", default="", help="a command magnumd runs under, e.g. 'heaptrack -o /tmp/mh'")
    a = ap.parse_args()
    b = Bench(a.build_dir, a.sync_interval, a.reconcile_workers, a.wrap)
    try:
        print(f"| phase | clusters | servers | result |\n|---|---|---|---|")
        if a.create:
            t0 = time.monotonic()
            b.create("a", a.create, a.workers_per_cluster)
            posted = time.monotonic() - t0
            took = b.wait_complete("a", a.create, 1800) + posted
            ready = b.ready_nodes("a")
            print(f"| (a) create at once | {a.create} | {a.create * (1 + a.workers_per_cluster)} | "
                  f"all CREATE_COMPLETE (every server a Ready Node in its cluster's simulated API; "
                  f"{ready} Ready Nodes listed) after {took:.1f} s (POSTs took {posted:.1f} s) |",
                  flush=True)
        if a.day2 and a.create:
            # (c) Every created cluster is probed through its own API (--api-probe-interval 10 s).
            window = 30
            probes0 = b.metric("magnumd_cluster_api_probes_total")
            _, _, cpu0 = proc_usage(b.magnumd.pid)
            time.sleep(window)
            probes1 = b.metric("magnumd_cluster_api_probes_total")
            peak, rss, cpu1 = proc_usage(b.magnumd.pid)
            print(f"| (c) health monitoring | {a.create} | {a.create * (1 + a.workers_per_cluster)} | "
                  f"{(probes1 - probes0) / window:.1f} probes/s to the clusters' APIs (each: /version, "
                  f"/readyz, /api/v1/nodes); magnumd CPU {(cpu1 - cpu0) / window * 100:.1f}% of one core, "
                  f"RSS {rss:.0f} MB (peak {peak:.0f} MB) over {window} s |", flush=True)
            # (d) One cluster with auto-heal: a worker's Node turns NotReady; until it is replaced
            # and the cluster is HEALTHY again.
            name = "a00000"
            status, body = call("PATCH", b.url + API + "/clusters/" + name,
                                {"spec": {"healthCheck": {"enabled": True, "unhealthyTimeout": "5s",
                                                          "maxUnhealthy": "1"}}},
                                b.token, "application/merge-patch+json")
            assert status == 200, body
            stack = b.status(name)["stackId"]
            victim = f"{name}-default-worker-1"
            t0 = time.monotonic()
            status, body = call("POST", f"{b.sim_url}/sim/v1/clusters/{stack}/nodes/{victim}",
                                {"ready": False})
            assert status == 200, body
            detect = b.wait(lambda: (b.status(name).get("healthCheck") or {}).get("remediations"),
                            300, "the remediation")
            b.wait(lambda: b.status(name).get("healthStatus") == "HEALTHY"
                   and b.status(name).get("phase") == "UPDATE_COMPLETE", 300, "HEALTHY again")
            replaced = time.monotonic() - t0
            print(f"| (d) auto-heal | 1 of {a.create} | {1 + a.workers_per_cluster} | NotReady node "
                  f"replaced: remediation started {detect:.1f} s after the Node turned NotReady "
                  f"(unhealthyTimeout 5 s), cluster HEALTHY and UPDATE_COMPLETE again after "
                  f"{replaced:.1f} s |", flush=True)
            # (e) A rolling upgrade of a 1+3 cluster to another kube_tag.
            name = "a00001"
            t0 = time.monotonic()
            status, body = call("PATCH", b.url + API + "/clusters/" + name,
                                {"spec": {"labels": {"kube_tag": "v1.33.1"}}},
                                b.token, "application/merge-patch+json")
            assert status == 200, body
            b.wait(lambda: b.status(name).get("phase") == "UPDATE_IN_PROGRESS", 60, "rollout start")
            b.wait(lambda: b.status(name).get("phase") == "UPDATE_COMPLETE"
                   and (b.status(name).get("rollout") or {}).get("phase") == "Complete",
                   600, "the upgrade")
            took = time.monotonic() - t0
            print(f"| (e) rolling upgrade | 1 of {a.create} | {1 + a.workers_per_cluster} | 1+3 "
                  f"v1.32.4 -> v1.33.1, masters first, surge 1: every node replaced and Ready after "
                  f"{took:.1f} s |", flush=True)
        if a.steady:
            b.create("b", a.steady, 1)
            b.wait_complete("b", a.steady, 3600)
            time.sleep(3 * a.sync_interval)  # let the last completions settle
            # Count over whole periods as the observer counts them (magnumd_observer_periods_total
            # goes up as a period ends), not over a nominal sync interval: start the window just
            # after one period ends and close it just after the last of a.periods ends.
            periods0 = b.wait_periods(1, 10 * a.sync_interval)
            call("DELETE", b.sim_url + "/sim/v1/stats")
            t0 = time.monotonic()
            _, _, cpu0 = proc_usage(b.magnumd.pid)
            periods1 = b.wait_periods(a.periods, 10 * a.periods * a.sync_interval)
            _, stats = call("GET", b.sim_url + "/sim/v1/stats")
            window = time.monotonic() - t0
            peak, rss, cpu1 = proc_usage(b.magnumd.pid)
            periods = periods1 - periods0
            total = stats["total"]
            keystone = sum(v for k, v in stats["requests"].items() if "identity" in k)
            print(f"| (b) steady state | {a.steady + a.create} | {stats['servers']} | "
                  f"{total / periods:.2f} cloud calls per sync period ({total} calls in {periods:.0f} "
                  f"periods counted by magnumd_observer_periods_total, {window:.1f} s; {keystone} "
                  f"Keystone in total); magnumd RSS {rss:.0f} MB (peak {peak:.0f} MB); CPU "
                  f"{(cpu1 - cpu0) / window * 100:.1f}% in steady state, {cpu1:.1f} CPU s in all |",
                  flush=True)
            print("calls by route:", json.dumps(stats["requests"], indent=1))
    finally:
        b.close()


if __name__ == "__main__":
    sys.exit(main())
