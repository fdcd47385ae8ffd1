"""Keystone users on magnumd's API: `magnumd --dev` validates X-Auth-Token with its embedded
cloudsim Keystone. Two projects and three roles, made with the openstack CLI as an operator would:
a reader cannot create, a member of team-a cannot see team-b's cluster, an admin sees both, a
revoked token stops working within --keystone-cache-ttl, and the bearer token keeps working."""
import copy
import time

import pytest

from conftest import openstack, request
from reconcile_util import API, Magnumd, cluster, start_cloudsim, template

TTL = 2  # --keystone-cache-ttl


@pytest.fixture
def cloud(tmp_path, procs):
    m = Magnumd(tmp_path, procs, extra=["--keystone-cache-ttl", str(TTL)])
    auth_url = m.sim_url() + "/identity/v3"
    projects = {}
    for name in ("team-a", "team-b"):
        projects[name] = openstack(auth_url, "project", "create", name, "-f", "value", "-c", "id")
    tokens = {}
    for user, project, role in (("alice", "team-a", "member"), ("rita", "team-a", "reader"),
                                ("bob", "team-b", "member")):
        openstack(auth_url, "user", "create", "--project", project, "--password", "pw-" + user, user)
        openstack(auth_url, "role", "add", "--project", project, "--user", user, role)
        tokens[user] = openstack(auth_url, "token", "issue", "-f", "value", "-c", "id", user=user,
                                 password="pw-" + user, project=project)
    tokens["admin"] = openstack(auth_url, "token", "issue", "-f", "value", "-c", "id")
    # magnumd's service user acts in each project (admission looks the templates' images up there).
    for name in projects:
        openstack(auth_url, "role", "add", "--project", name, "--user", "demo", "member")
    return m, auth_url, projects, tokens


def call(m, method, path, token, body=None):
    return request(method, m.url + path, body, headers={"X-Auth-Token": token})


def in_namespace(doc, ns):
    doc = copy.deepcopy(doc)
    doc["metadata"]["namespace"] = ns
    return doc


def names(body):
    return sorted(f'{i["metadata"]["namespace"]}/{i["metadata"]["name"]}' for i in body["items"])


def test_two_projects_three_roles(cloud):
    m, auth_url, projects, tokens = cloud
    a, b = projects["team-a"], projects["team-b"]
    for ns, user in ((a, "alice"), (b, "bob")):
        status, _, body = call(m, "POST", f"{API}/namespaces/{ns}/clustertemplates", tokens[user],
                               in_namespace(template(), ns))
        assert status == 201, body
        status, _, body = call(m, "POST", f"{API}/namespaces/{ns}/clusters", tokens[user],
                               in_namespace(cluster(f"{user}-c"), ns))
        assert status == 201, body

    # A reader reads its project's cluster and cannot create one.
    status, _, body = call(m, "GET", f"{API}/namespaces/{a}/clusters/alice-c", tokens["rita"])
    assert status == 200, body
    status, _, body = call(m, "POST", f"{API}/namespaces/{a}/clusters", tokens["rita"],
                           in_namespace(cluster("rita-c"), a))
    assert status == 403 and "read-only" in body["message"], body

    # team-a's member cannot see team-b's cluster; across namespaces it lists only its own.
    status, _, body = call(m, "GET", f"{API}/namespaces/{b}/clusters/bob-c", tokens["alice"])
    assert status == 403, body
    status, _, body = call(m, "GET", f"{API}/clusters", tokens["alice"])
    assert status == 200 and names(body) == [f"{a}/alice-c"], body

    # An admin (Keystone role admin) sees both projects' clusters.
    status, _, body = call(m, "GET", f"{API}/clusters", tokens["admin"])
    assert status == 200 and names(body) == sorted([f"{a}/alice-c", f"{b}/bob-c"]), body

    # The dev bearer token keeps working beside Keystone.
    status, _, body = request("GET", m.url + f"{API}/clusters", token=m.token)
    assert status == 200 and len(body["items"]) == 2, body


def test_revoked_and_unknown_tokens(cloud):
    m, auth_url, projects, tokens = cloud
    a = projects["team-a"]
    status, _, body = call(m, "GET", f"{API}/namespaces/{a}/clusters", tokens["alice"])
    assert status == 200, body
    openstack(auth_url, "token", "revoke", tokens["alice"])
    deadline = time.monotonic() + TTL + 5
    while time.monotonic() < deadline:
        status, _, body = call(m, "GET", f"{API}/namespaces/{a}/clusters", tokens["alice"])
        if status == 401:
            break
        time.sleep(0.2)
    assert status == 401, f"a revoked token still works after --keystone-cache-ttl: {body}"
    status, _, body = call(m, "GET", f"{API}/clusters", "gAAAAnot-a-real-token")
    assert status == 401, body
    # No Keystone token reaches magnumd's log.
    log = m.proc.output()
    assert not any(t in log for t in tokens.values())


def test_keystone_unreachable_is_503_not_401(tmp_path, procs):
    sim, clouds_yaml = start_cloudsim(tmp_path, procs)
    m = Magnumd(tmp_path, procs, clouds_yaml=clouds_yaml, extra=["--keystone-cache-ttl", "1"])
    status, headers, body = request("POST", sim.url + "/identity/v3/auth/tokens", {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "demo", "domain": {"name": "Default"}, "password": "password"}}},
        "scope": {"project": {"name": "demo", "domain": {"id": "default"}}}}})
    assert status == 201, body
    token, project = headers["X-Subject-Token"], body["token"]["project"]["id"]
    status, _, body = call(m, "GET", f"{API}/namespaces/{project}/clusters", token)
    assert status == 200, body
    sim.kill()
    time.sleep(1.5)  # past the cache TTL: the next request must ask Keystone
    status, _, body = call(m, "GET", f"{API}/namespaces/{project}/clusters", token)
    assert status == 503, body
    assert "Keystone" in body["message"], body
    assert token not in m.proc.output()
