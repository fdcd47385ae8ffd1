"""Cloud actions for a namespace happen in that namespace's OpenStack project. `magnumd --dev`
acts as its service user (cloudsim's demo); an operator adds two projects, a member of each, and
gives the service user the member role on each, all with the real openstack CLI. A cluster in
each project's namespace then has its Heat stack and Nova servers in that project, as Magnum's
clusters do; a member of team-a cannot reach team-b's stack through Heat; a namespace of a project
magnumd has no role on is refused with the command that fixes it; the dev token's namespace keeps
using magnumd's own project; and admission looks a template's image up in the namespace's project,
as Magnum looks it up as the user: team-b's private image is refused in team-a's namespace."""
import urllib.error
import urllib.request
import json

import pytest

from conftest import openstack, request
from reconcile_util import API, NS, Magnumd, cluster, template, wait_for


def heat(sim_url, token, path):
    """(status, body) of a GET on Heat with a user's token."""
    req = urllib.request.Request(sim_url + "/heat-api/v1/" + path, headers={"X-Auth-Token": token})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def in_namespace(doc, ns):
    doc = json.loads(json.dumps(doc))
    doc["metadata"]["namespace"] = ns
    return doc


@pytest.fixture
def cloud(tmp_path, procs):
    m = Magnumd(tmp_path, procs)
    sim_url = m.sim_url()
    auth_url = sim_url + "/identity/v3"
    projects, tokens = {}, {}
    for name, user in (("team-a", "alice"), ("team-b", "bob"), ("team-c", "carol")):
        projects[name] = openstack(auth_url, "project", "create", name, "-f", "value", "-c", "id")
        openstack(auth_url, "user", "create", "--project", name, "--password", "pw-" + user, user)
        openstack(auth_url, "role", "add", "--project", name, "--user", user, "member")
        tokens[user] = openstack(auth_url, "token", "issue", "-f", "value", "-c", "id", user=user,
                                 password="pw-" + user, project=name)
    # magnumd's service user may act in team-a and team-b; nobody told it about team-c.
    for name in ("team-a", "team-b"):
        openstack(auth_url, "role", "add", "--project", name, "--user", "demo", "member")
    return m, sim_url, projects, tokens


def create(m, ns, token, name):
    for doc in (template(), cluster(name)):
        status, _, body = request("POST", f"{m.url}{API}/namespaces/{ns}/{doc['kind'].lower()}s",
                                  in_namespace(doc, ns), headers={"X-Auth-Token": token})
        assert status == 201, body


def status_of(m, ns, name):
    status, _, body = m.call("GET", f"{API}/namespaces/{ns}/clusters/{name}")
    assert status == 200, body
    return body


def settled(m, ns, name):
    def check():
        c = status_of(m, ns, name)
        st = c.get("status", {})
        ready = [x for x in st.get("conditions", []) if x.get("type") == "Ready"]
        return c if (st.get("phase") == "CREATE_COMPLETE" and ready
                     and ready[0]["status"] == "True") else None
    try:
        return wait_for(check, 90, f"cluster {ns}/{name} built and Ready")
    except AssertionError:
        raise AssertionError(f"{ns}/{name} never settled: {status_of(m, ns, name)}\n"
                             f"log tail:\n{m.proc.output()[-3000:]}")


def test_each_projects_clusters_live_in_that_project(cloud):
    m, sim_url, projects, tokens = cloud
    a, b, c = projects["team-a"], projects["team-b"], projects["team-c"]
    create(m, a, tokens["alice"], "alice-c")
    create(m, b, tokens["bob"], "bob-c")
    # team-c's namespace: magnumd has no role there, so it can neither check the template's image
    # in that project nor create stacks there, and says what to run.
    status, _, body = request("POST", f"{m.url}{API}/namespaces/{c}/clustertemplates",
                              in_namespace(template(), c), headers={"X-Auth-Token": tokens["carol"]})
    assert status == 403, body
    assert f"openstack role add --project {c} --user demo member" in body["message"], body
    m.apply(template())
    m.apply(cluster("dev-c"))  # the dev token's namespace: magnumd's own project, as before
    uids = {p: settled(m, ns, name)["metadata"]["uid"]
            for p, ns, name in (("a", a, "alice-c"), ("b", b, "bob-c"), ("own", NS, "dev-c"))}

    # Each stack lives in its own project: its members list exactly it through Heat.
    status, body = heat(sim_url, tokens["alice"], f"{a}/stacks")
    assert status == 200, body
    assert [s["id"] for s in body["stacks"]] and all(
        f"magnumd-cluster={uids['a']}" in s["tags"] for s in body["stacks"]), body
    stack_a = body["stacks"][0]
    status, body = heat(sim_url, tokens["bob"], f"{b}/stacks")
    assert status == 200 and len(body["stacks"]) == 1, body
    assert f"magnumd-cluster={uids['b']}" in body["stacks"][0]["tags"], body

    # Nova agrees: every server of a cluster belongs to its cluster's project.
    status, _, sim = request("GET", sim_url + "/sim/v1/servers?limit=100000")
    assert status == 200, sim
    by_stack = {}
    for s in sim["servers"]:
        if s["status"] != "DELETED":
            by_stack.setdefault(s["stack_id"], set()).add(s["project_id"])
    assert by_stack[stack_a["id"]] == {a}, by_stack
    assert len(by_stack) >= 3 and all(len(p) == 1 for p in by_stack.values()), by_stack
    owners = {next(iter(p)) for p in by_stack.values()}
    assert a in owners and b in owners and c not in owners, by_stack

    # team-a's member cannot reach team-b's stack: not by team-b's URL, not through its own.
    status, body = heat(sim_url, tokens["bob"], f"{a}/stacks")
    assert status == 403, body
    status, body = heat(sim_url, tokens["bob"], f"{a}/stacks/{stack_a['stack_name']}/{stack_a['id']}")
    assert status == 403, body
    status, body = heat(sim_url, tokens["bob"], f"{b}/stacks/{stack_a['stack_name']}/{stack_a['id']}")
    assert status == 404, body

    # Deleting team-a's cluster deletes its stack in team-a; team-b's stays.
    status, _, body = request("DELETE", f"{m.url}{API}/namespaces/{a}/clusters/alice-c",
                              headers={"X-Auth-Token": tokens["alice"]})
    assert status in (200, 202), body
    wait_for(lambda: heat(sim_url, tokens["alice"], f"{a}/stacks")[1]["stacks"] == [], 60,
             "team-a's stack to be deleted")
    status, body = heat(sim_url, tokens["bob"], f"{b}/stacks")
    assert status == 200 and len(body["stacks"]) == 1, body


def magnum_post(m, token, path, body):
    """(status, body) of a POST on magnumd's Magnum API with a user's Keystone token."""
    status, _, reply = request("POST", m.url + path, body, headers={
        "X-Auth-Token": token, "OpenStack-API-Version": "container-infra latest"})
    return status, reply


def test_a_private_image_is_found_only_in_its_projects_namespace(cloud):
    m, sim_url, projects, tokens = cloud
    auth_url = sim_url + "/identity/v3"
    openstack(auth_url, "image", "create", "--private", "--disk-format", "qcow2",
              "--property", "os_distro=fedora-coreos", "team-b-coreos",
              user="bob", password="pw-bob", project="team-b")
    tmpl = {"name": "k8s-b", "coe": "kubernetes", "image_id": "team-b-coreos",
            "external_network_id": "public", "flavor_id": "m1.small",
            "master_flavor_id": "m1.small"}

    # team-a's member: Glance in team-a does not show team-b's private image.
    status, body = magnum_post(m, tokens["alice"], "/v1/clustertemplates", tmpl)
    assert status == 400, body
    detail = body["errors"][0]["detail"]
    assert 'image "team-b-coreos" not found in Glance' in detail, detail
    # The same through /apis, in team-a's namespace.
    doc = in_namespace(template("k8s-b"), projects["team-a"])
    doc["spec"]["image"] = "team-b-coreos"
    status, _, body = request("POST", f"{m.url}{API}/namespaces/{projects['team-a']}/clustertemplates",
                              doc, headers={"X-Auth-Token": tokens["alice"]})
    assert status == 422 and "team-b-coreos" in body["message"], body

    # team-b's member, whose project owns it: accepted.
    status, body = magnum_post(m, tokens["bob"], "/v1/clustertemplates", tmpl)
    assert status == 201, body
    assert body["image_id"] == "team-b-coreos", body
    # A public image is found from every project.
    status, body = magnum_post(m, tokens["alice"], "/v1/clustertemplates",
                               {**tmpl, "image_id": "fedora-coreos-38"})
    assert status == 201, body

    # Key pairs are the service user's: one alice made with her own login is not it.
    openstack(auth_url, "keypair", "create", "alice-key", user="alice", password="pw-alice",
              project="team-a")
    status, body = magnum_post(m, tokens["alice"], "/v1/clusters",
                               {"name": "c-a", "cluster_template_id": "k8s-b", "keypair": "alice-key",
                                "master_count": 1, "node_count": 1})
    assert status == 400, body
    detail = body["errors"][0]["detail"]
    assert ('key pair "alice-key" not found in Nova among the key pairs of magnumd\'s service user '
            '"demo"') in detail, detail
