"""cloudsim's Keystone driven by the real openstack CLI the way an operator adds a project and its
users: `project create`, `user create --project --password`, `role add`, then the new user logs in
(`token issue`) and a service validates that token (GET /v3/auth/tokens)."""
import json
import os
import subprocess

import pytest

from conftest import Process, binary, free_port, request, wait_ready


@pytest.fixture
def cloud(tmp_path, procs):
    port = free_port()
    p = Process([binary("cloudsim"), "--listen", f"127.0.0.1:{port}", "--seed", "11"], port,
                str(tmp_path / "cloudsim.log"))
    procs.append(p)
    wait_ready(p.url, "/healthz", proc=p)
    return p


def openstack(cloud, *args, user="admin", password="password", project=None, check=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    cmd = ["openstack", "--os-auth-url", f"{cloud.url}/identity/v3", "--os-username", user,
           "--os-password", password, "--os-project-name", project or user,
           "--os-user-domain-name", "Default", "--os-project-domain-name", "Default",
           "--os-identity-api-version", "3", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n"
                             f"{done.stderr}\ncloudsim log:\n{cloud.output()[-3000:]}")
    return done


def as_json(done):
    return json.loads(done.stdout)


def validate(cloud, subject):
    """GET /v3/auth/tokens as a service does: its own token, and the one to check."""
    status, headers, service = request("POST", f"{cloud.url}/identity/v3/auth/tokens", {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"name": "Default"}, "password": "password"}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
    assert status == 201, service
    return request("GET", f"{cloud.url}/identity/v3/auth/tokens?nocatalog",
                   headers={"X-Auth-Token": headers["X-Subject-Token"], "X-Subject-Token": subject})


def test_operator_adds_a_project_and_its_member(cloud):
    project = as_json(openstack(cloud, "project", "create", "team-a", "-f", "json"))
    assert project["name"] == "team-a" and project["enabled"] is True
    user = as_json(openstack(cloud, "user", "create", "--project", "team-a", "--password", "s3cret",
                             "alice", "-f", "json"))
    assert user["default_project_id"] == project["id"]
    openstack(cloud, "role", "add", "--project", "team-a", "--user", "alice", "member")

    assignments = as_json(openstack(cloud, "role", "assignment", "list", "--user", "alice",
                                    "--names", "-f", "json"))
    assert [(a["Role"], a["Project"]) for a in assignments] == [("member", "team-a@Default")]
    listed = as_json(openstack(cloud, "project", "list", "-f", "json"))
    assert "team-a" in [p["Name"] for p in listed]

    issued = as_json(openstack(cloud, "token", "issue", "-f", "json", user="alice", password="s3cret",
                               project="team-a"))
    assert issued["project_id"] == project["id"] and issued["user_id"] == user["id"]

    status, _, body = validate(cloud, issued["id"])
    assert status == 200, body
    assert body["token"]["project"]["id"] == project["id"]
    assert [r["name"] for r in body["token"]["roles"]] == ["member"]

    openstack(cloud, "token", "revoke", issued["id"])
    status, _, body = validate(cloud, issued["id"])
    assert status == 404, body


def test_refusals_a_client_shows(cloud):
    openstack(cloud, "project", "create", "team-b")
    again = openstack(cloud, "project", "create", "team-b", check=False)
    assert again.returncode != 0 and "Conflict" in again.stderr + again.stdout
    # demo is a member, not an admin: Keystone's default policy refuses.
    denied = openstack(cloud, "project", "create", "team-c", user="demo", check=False)
    assert denied.returncode != 0 and "403" in denied.stderr + denied.stdout
    # A user without a role on the project cannot get a token for it.
    openstack(cloud, "user", "create", "--password", "pw", "bob")
    refused = openstack(cloud, "token", "issue", user="bob", password="pw", project="team-b",
                        check=False)
    assert refused.returncode != 0
