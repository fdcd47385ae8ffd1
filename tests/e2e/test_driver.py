"""The production OpenStack driver against a running cloudsim, over real HTTP.

cloudctl (drivers/tools) runs one driver operation per invocation; this suite walks a stack
through create, scale up, scale down with named removals, mark-unhealthy replacement and delete,
once on a healthy cloud and once with 20% of OpenStack requests answered 503.
"""
import json
import os
import subprocess
import tempfile
import time

import pytest

from conftest import BUILD_DIR, Process, binary, free_port, request, wait_ready

TEMPLATE = """\
heat_template_version: 2018-08-31
parameters:
  count: {type: number, default: 3}
  removal: {type: comma_delimited_list, default: []}
resources:
  workers:
    type: OS::Heat::ResourceGroup
    properties:
      count: {get_param: count}
      removal_policies: [{resource_list: {get_param: removal}}]
      resource_def:
        type: OS::Nova::Server
        properties:
          name: e2e-worker-%index%
          image: cirros
          flavor: m1.small
          metadata: {cluster: e2e}
          tags: [magnumd-e2e]
outputs:
  refs_map:
    value: {get_attr: [workers, refs_map]}
  names:
    value: {get_attr: [workers, name]}
"""


def cloudctl_binary():
    for sub in ("drivers/tools", ""):
        path = os.path.join(BUILD_DIR, sub, "cloudctl")
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise FileNotFoundError(f"cloudctl not found under {BUILD_DIR}")


class Cloud:
    """cloudsim plus a clouds.yaml pointing at it, and a runner for cloudctl."""

    def __init__(self, procs, workdir):
        port = free_port()
        self.sim = Process([binary("cloudsim"), "--listen", f"127.0.0.1:{port}",
                            "--server-build-seconds", "0.3", "--delete-seconds", "0.2",
                            "--seed", "7"], port, os.path.join(workdir, "cloudsim.log"))
        procs.append(self.sim)
        wait_ready(self.sim.url, "/healthz", proc=self.sim)
        self.clouds_yaml = os.path.join(workdir, "clouds.yaml")
        with open(self.clouds_yaml, "w") as f:
            f.write(f"""\
clouds:
  e2e:
    auth:
      auth_url: {self.sim.url}/identity/v3
      username: demo
      password: password
      project_name: demo
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    interface: public
""")
        self.template = os.path.join(workdir, "workers.yaml")
        with open(self.template, "w") as f:
            f.write(TEMPLATE)
        self.retries = 0

    def ctl(self, *args, check=True, timeout=120):
        env = dict(os.environ, OS_CLIENT_CONFIG_FILE=self.clouds_yaml)
        env.pop("OS_CLOUD", None)
        cmd = [cloudctl_binary(), "--os-cloud", "e2e", "--retries", str(self.retries), *args]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
        if check and out.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {out.returncode}:\n{out.stderr}")
        return json.loads(out.stdout) if out.returncode == 0 and out.stdout.strip() else out

    def sim_api(self, method, path, body=None):
        status, _, data = request(method, self.sim.url + path, body)
        assert status < 300, (status, data)
        return data


@pytest.fixture
def cloud(procs):
    with tempfile.TemporaryDirectory() as workdir:
        yield Cloud(procs, workdir)


def members(stack):
    return stack["outputs"]["refs_map"]


def live_servers(cloud):
    return {s["name"]: s for s in cloud.ctl("servers", "--tag", "magnumd-e2e")}


def lifecycle(cloud):
    created = cloud.ctl("create", "--name", "e2e-stack", "--template", cloud.template,
                        "--param", "count=3", "--tag", "magnumd", "--tag", "e2e")
    ref = ["--name", "e2e-stack", "--id", created["id"]]

    stack = cloud.ctl("wait", *ref, "--status", "CREATE_COMPLETE")
    assert sorted(members(stack)) == ["0", "1", "2"]
    assert sorted(stack["outputs"]["names"]) == ["e2e-worker-0", "e2e-worker-1", "e2e-worker-2"]
    servers = live_servers(cloud)
    assert sorted(servers) == ["e2e-worker-0", "e2e-worker-1", "e2e-worker-2"]
    assert all(s["status"] == "ACTIVE" and s["metadata"] == {"cluster": "e2e"} for s in servers.values())
    assert [s["name"] for s in cloud.ctl("list", "--tag", "e2e")] == ["e2e-stack"]
    assert cloud.ctl("list", "--tag", "e2e", "--tag", "no-such-tag") == []

    # Scale to 5.
    cloud.ctl("patch", *ref, "--param", "count=5")
    stack = cloud.ctl("wait", *ref, "--status", "UPDATE_COMPLETE")
    assert sorted(members(stack)) == ["0", "1", "2", "3", "4"]
    assert len(live_servers(cloud)) == 5

    # Back to 2, choosing the victims: 1, 3 and 4 go, 0 and 2 stay.
    before = members(stack)
    cloud.ctl("patch", *ref, "--param", "count=2", "--param", "removal=1,3,4")
    stack = cloud.ctl("wait", *ref, "--status", "UPDATE_COMPLETE")
    assert sorted(members(stack)) == ["0", "2"]
    assert members(stack)["0"] == before["0"] and members(stack)["2"] == before["2"]
    assert sorted(live_servers(cloud)) == ["e2e-worker-0", "e2e-worker-2"]
    gone = cloud.ctl("server", "--id", before["3"], check=False)
    assert gone.returncode == 1 and "NotFound" in gone.stderr

    # Mark member 0 unhealthy by its server id; the next update replaces it.
    victim = members(stack)["0"]
    cloud.ctl("mark-unhealthy", *ref, "--resource", victim, "--reason", "e2e: node NotReady")
    resources = cloud.ctl("resources", *ref)
    assert [r["status"] for r in resources if r["physical_id"] == victim] == ["CHECK_FAILED"]
    cloud.ctl("patch", *ref)
    stack = cloud.ctl("wait", *ref, "--status", "UPDATE_COMPLETE")
    assert sorted(members(stack)) == ["0", "2"]
    assert members(stack)["0"] != victim
    assert members(stack)["2"] == before["2"]
    replaced = live_servers(cloud)
    assert replaced["e2e-worker-0"]["id"] == members(stack)["0"]
    assert victim not in {s["id"] for s in replaced.values()}

    # Delete: the stack and its servers go away.
    cloud.ctl("delete", *ref)
    cloud.ctl("wait", *ref, "--status", "DELETE_COMPLETE")
    assert cloud.ctl("list", "--tag", "e2e") == []
    assert live_servers(cloud) == {}


def test_stack_lifecycle(cloud):
    lifecycle(cloud)
    stats = cloud.sim_api("GET", "/sim/v1/stats")
    assert stats["requests"].get("heat POST /stacks", 0) == 1


def test_stack_lifecycle_with_20_percent_503s(cloud):
    cloud.sim_api("POST", "/sim/v1/faults", {"error_rate": 0.2, "error_status": 503})
    assert cloud.sim_api("GET", "/sim/v1/faults")["error_rate"] == pytest.approx(0.2)
    cloud.retries = 20
    lifecycle(cloud)
    cloud.sim_api("DELETE", "/sim/v1/faults")
    assert cloud.ctl("list", "--tag", "e2e") == []


def test_a_create_whose_answer_is_lost_is_adopted_not_repeated(cloud):
    """Heat performed the POST but its answer never arrived (cloudsim's lose_answers fault): the
    client does not repeat a non-idempotent create; it finds the stack by its name and adopts it.
    Exactly one stack exists and Heat saw exactly one create."""
    cloud.sim_api("POST", "/sim/v1/faults",
                  {"lose_answers": {"count": 1, "service": "heat", "method": "POST", "status": 504}})
    cloud.retries = 3
    created = cloud.ctl("create", "--name", "lost", "--template", cloud.template, "--param",
                        "count=1", "--tag", "e2e")
    assert created.get("adopted") is True, created
    assert cloud.sim_api("GET", "/sim/v1/faults")["lose_answers"]["count"] == 0
    stacks = cloud.ctl("list", "--tag", "e2e")
    assert [s["name"] for s in stacks] == ["lost"], stacks
    assert stacks[0]["id"] == created["id"]
    stats = cloud.sim_api("GET", "/sim/v1/stats")
    assert stats["requests"].get("heat POST /stacks", 0) == 1


def test_without_retries_a_lost_answer_is_an_error_and_still_one_stack(cloud):
    cloud.sim_api("POST", "/sim/v1/faults",
                  {"lose_answers": {"count": 1, "service": "heat", "method": "POST"}})
    cloud.retries = 0
    out = cloud.ctl("create", "--name", "lost", "--template", cloud.template, "--param", "count=1",
                    "--tag", "e2e", check=False)
    assert out.returncode != 0 and "answer lost" in out.stderr, out.stderr
    assert [s["name"] for s in cloud.ctl("list", "--tag", "e2e")] == ["lost"]



def test_failed_create_is_explained(cloud):
    cloud.sim_api("POST", "/sim/v1/faults",
                  {"fail_stack_create": {"count": 1, "reason": "No valid host was found."}})
    created = cloud.ctl("create", "--name", "doomed", "--template", cloud.template, "--param", "count=1")
    out = cloud.ctl("wait", "--name", "doomed", "--id", created["id"], "--status", "CREATE_COMPLETE",
                    check=False)
    assert out.returncode == 2
    assert "No valid host was found." in out.stderr


def test_wrong_password_is_a_clear_error(cloud):
    with open(cloud.clouds_yaml) as f:
        text = f.read()
    with open(cloud.clouds_yaml, "w") as f:
        f.write(text.replace("password: password", "password: wrong"))
    out = cloud.ctl("list", check=False)
    assert out.returncode == 1
    assert "Unauthorized" in out.stderr and "rejected user \"demo\"" in out.stderr
