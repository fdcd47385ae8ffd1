"""A cluster's credentials end to end: `magnumd --dev` creates a cluster, then `magnumctl ca show`,
`ca sign` (a CSR made by `openssl req`, as the seed's user guide does it) and `config` hand out
what a native client needs, and `openssl verify` judges it against the cluster CA.

Extra tokens (a member and a reader of namespace demo) come from --token-file beside the dev
admin token, so authorization is exercised through the real binaries too. kubectl is pointed at
the cluster only when its API is served there (cloudsim's simulated kube-apiserver).
"""
import base64
import os
import shutil
import socket
import ssl
import stat
import subprocess
import time
import urllib.parse

import pytest
import yaml

from conftest import binary, request
from reconcile_util import API, NS, Magnumd, cluster, template, wait_for

MEMBER_TOKEN = "member-token-e2e-0001"
READER_TOKEN = "reader-token-e2e-0001"
CA_WAIT_SECONDS = 30


class Procs(list):
    def kill_all(self):
        for p in self:
            p.kill()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("credentials")
    tokens = tmp / "tokens.csv"
    tokens.write_text(f"{MEMBER_TOKEN},alice,{NS},member\n{READER_TOKEN},rita,{NS},reader\n")
    procs = Procs()
    try:
        m = Magnumd(tmp, procs, extra=["--token-file", str(tokens)])
        m.apply(template())
        m.apply(cluster("prod"))
        status = m.wait_phase("prod", "CREATE_COMPLETE", timeout=90)
        assert status["apiAddress"].startswith("https://"), status
        yield m, status, tmp
    finally:
        procs.kill_all()


def ca_path(name="prod"):
    return f"{API}/namespaces/{NS}/clusters/{name}/ca"


@pytest.fixture(scope="module")
def ca_pem(env):
    """The cluster CA through the REST API, once magnumd has generated it."""
    m, _, _ = env
    last = {}

    def fetch():
        code, headers, body = request("GET", m.url + ca_path(), token=m.token,
                                      accept="application/x-pem-file")
        last.update(code=code, body=body)
        return body if code == 200 else None

    deadline = time.monotonic() + CA_WAIT_SECONDS
    while time.monotonic() < deadline:
        pem = fetch()
        if pem:
            return pem
        time.sleep(0.2)
    raise AssertionError(f"GET /ca never answered 200 within {CA_WAIT_SECONDS}s of "
                         f"CREATE_COMPLETE (the reconciler generates the cluster's PKI): {last}")


def ctl(m, *args, token=None, stdin=None):
    env = dict(os.environ)
    env.pop("MAGNUMD_NAMESPACE", None)
    env.update(MAGNUMD_URL=m.url, MAGNUMD_TOKEN=token or m.token, SHELL="/bin/bash")
    return subprocess.run([binary("magnumctl"), *args, "-n", NS], input=stdin,
                          capture_output=True, text=True, env=env, timeout=60)


def openssl(*args, cwd=None):
    return subprocess.run(["openssl", *args], capture_output=True, text=True, cwd=cwd, timeout=60)


def make_csr(directory, subject):
    """A P-256 key and CSR, the way the seed's guide makes them with openssl req."""
    result = openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                     "-nodes", "-keyout", "key.pem", "-subj", subject, "-out", "client.csr",
                     cwd=directory)
    assert result.returncode == 0, result.stderr
    return directory / "client.csr"


def verify_client_cert(directory, cert_file="cert.pem", ca_file="ca.pem"):
    result = openssl("verify", "-purpose", "sslclient", "-CAfile", ca_file, cert_file,
                     cwd=directory)
    assert result.returncode == 0 and result.stdout.strip() == f"{cert_file}: OK", \
        result.stdout + result.stderr
    return openssl("x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in", cert_file,
                   cwd=directory).stdout.strip()


def test_ca_show_prints_what_the_api_serves(env, ca_pem, tmp_path):
    m, _, _ = env
    shown = ctl(m, "ca", "show", "prod")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == ca_pem
    (tmp_path / "ca.pem").write_text(shown.stdout)
    parsed = openssl("x509", "-noout", "-subject", "-ext", "basicConstraints", "-in", "ca.pem",
                     cwd=tmp_path)
    assert parsed.returncode == 0, parsed.stderr
    assert "subject=CN = kubernetes" in parsed.stdout and "CA:TRUE" in parsed.stdout
    # A reader may see the CA too.
    assert ctl(m, "ca", "show", "prod", token=READER_TOKEN).stdout == ca_pem


def test_ca_sign_with_an_openssl_csr_gives_a_certificate_openssl_verifies(env, ca_pem, tmp_path):
    m, _, _ = env
    (tmp_path / "ca.pem").write_text(ca_pem)
    csr = make_csr(tmp_path, "/O=system:masters/CN=admin")  # the seed's RBAC example
    signed = ctl(m, "ca", "sign", "prod", "--csr", str(csr))
    assert signed.returncode == 0, signed.stderr
    assert signed.stdout.startswith("-----BEGIN CERTIFICATE-----")
    (tmp_path / "cert.pem").write_text(signed.stdout)
    assert verify_client_cert(tmp_path) == "subject=CN=admin,O=system:masters"
    # The certificate is for the CSR's key.
    key_pub = openssl("pkey", "-in", "key.pem", "-pubout", cwd=tmp_path).stdout
    cert_pub = openssl("x509", "-in", "cert.pem", "-noout", "-pubkey", cwd=tmp_path).stdout
    assert key_pub and key_pub == cert_pub


def test_a_member_signs_only_for_itself(env, ca_pem, tmp_path):
    m, _, _ = env
    (tmp_path / "ca.pem").write_text(ca_pem)
    masters = make_csr(tmp_path, "/O=system:masters/CN=alice")
    refused = ctl(m, "ca", "sign", "prod", "--csr", str(masters), token=MEMBER_TOKEN)
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert "Error from server (Forbidden): CSR: O=system:masters" in refused.stderr
    own = make_csr(tmp_path, "/CN=alice")
    signed = ctl(m, "ca", "sign", "prod", "-", stdin=own.read_text(), token=MEMBER_TOKEN)
    assert signed.returncode == 0, signed.stderr
    (tmp_path / "cert.pem").write_text(signed.stdout)
    assert verify_client_cert(tmp_path) == "subject=CN=alice"
    reader = ctl(m, "ca", "sign", "prod", "--csr", str(own), token=READER_TOKEN)
    assert reader.returncode == 1 and "Forbidden" in reader.stderr


def test_bad_csr_is_refused_naming_the_problem(env, ca_pem, tmp_path):
    m, _, _ = env
    weak = tmp_path / "weak.csr"
    result = openssl("req", "-new", "-newkey", "rsa:1024", "-nodes", "-keyout", "weak.key",
                     "-subj", "/CN=admin", "-out", str(weak), cwd=tmp_path)
    if result.returncode != 0:  # an OpenSSL security level may refuse to make one
        pytest.skip(f"openssl would not make an RSA-1024 CSR: {result.stderr.strip()}")
    refused = ctl(m, "ca", "sign", "prod", "--csr", str(weak))
    assert refused.returncode == 1
    assert ("Error from server (Invalid): CSR: RSA key of 1024 bits; at least 2048 are required"
            in refused.stderr), refused.stderr
    garbage = tmp_path / "garbage.csr"
    garbage.write_text("not a csr\n")
    refused = ctl(m, "ca", "sign", "prod", "--csr", str(garbage))
    assert "Error from server (BadRequest): CSR: not PEM" in refused.stderr


def test_config_writes_a_kubeconfig_whose_user_certificate_verifies(env, ca_pem, tmp_path):
    m, status, _ = env
    directory = tmp_path / "prod"
    made = ctl(m, "config", "prod", "--dir", str(directory))
    assert made.returncode == 0, made.stderr
    config_file = directory / "config"
    assert made.stdout == f"export KUBECONFIG={config_file}\n"
    assert stat.S_IMODE(os.stat(config_file).st_mode) == 0o600
    config = yaml.safe_load(config_file.read_text())
    assert config["current-context"] == "default"
    assert config["clusters"][0]["name"] == "prod"
    assert config["clusters"][0]["cluster"]["server"] == status["apiAddress"]
    assert config["users"][0]["name"] == "admin"
    ca = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
    assert ca == ca_pem
    user = config["users"][0]["user"]
    (directory / "ca.pem").write_text(ca)
    (directory / "cert.pem").write_bytes(base64.b64decode(user["client-certificate-data"]))
    (directory / "key.pem").write_bytes(base64.b64decode(user["client-key-data"]))
    assert verify_client_cert(directory) == "subject=CN=admin,O=system:masters"

    again = ctl(m, "config", "prod", "--dir", str(directory))
    assert again.returncode == 1
    assert f"file {config_file} exists, aborting; pass --force" in again.stderr
    forced = ctl(m, "config", "prod", "--dir", str(directory), "--force")
    assert forced.returncode == 0, forced.stderr

    # A member's kubeconfig carries its own name and the members group; a reader gets none.
    member_dir = tmp_path / "member"
    member = ctl(m, "config", "prod", "--dir", str(member_dir), token=MEMBER_TOKEN)
    assert member.returncode == 0, member.stderr
    member_user = yaml.safe_load((member_dir / "config").read_text())["users"][0]
    assert member_user["name"] == "alice"
    (member_dir / "ca.pem").write_text(ca_pem)
    (member_dir / "cert.pem").write_bytes(
        base64.b64decode(member_user["user"]["client-certificate-data"]))
    assert verify_client_cert(member_dir) == "subject=CN=alice,O=magnumd:members"
    reader = ctl(m, "config", "prod", "--dir", str(tmp_path / "reader"), token=READER_TOKEN)
    assert reader.returncode == 1
    assert 'cannot create resource "clusters/kubeconfig"' in reader.stderr
    assert not (tmp_path / "reader" / "config").exists()


def test_issuance_leaves_an_event_and_a_metric_but_no_key(env, ca_pem, tmp_path):
    m, _, _ = env
    made = ctl(m, "config", "prod", "--dir", str(tmp_path))
    assert made.returncode == 0, made.stderr
    key = yaml.safe_load((tmp_path / "config").read_text())["users"][0]["user"]["client-key-data"]
    events = wait_for(lambda: [e for e in m.events("prod")
                               if e["spec"]["reason"] == "CertificateIssued"], 15,
                      "a CertificateIssued event on prod")
    messages = [e["spec"]["message"] for e in events]
    assert any("issued a client certificate CN=admin,O=system:masters to user admin (kubeconfig)"
               in msg for msg in messages), messages
    _, _, metrics = request("GET", m.url + "/metrics", token=m.token, accept="")
    assert 'magnumd_credentials_issued_total{endpoint="kubeconfig",role="admin"}' in metrics
    log = m.proc.output()
    assert "issued a client certificate for cluster demo/prod to user admin" in log
    assert "PRIVATE KEY" not in log
    assert base64.b64decode(key).decode().splitlines()[1] not in log


def test_kubectl_with_a_certificate_signed_through_ca_sign(env, ca_pem, tmp_path):
    """The real kubectl against the cluster's API with the seed's manual TLS flags."""
    m, status, _ = env
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not on the PATH")
    (tmp_path / "ca.pem").write_text(ca_pem)
    csr = make_csr(tmp_path, "/O=system:masters/CN=admin")
    signed = ctl(m, "ca", "sign", "prod", "--csr", str(csr))
    assert signed.returncode == 0, signed.stderr
    (tmp_path / "cert.pem").write_text(signed.stdout)
    # Is this cluster's API served at its address, by a server whose certificate the cluster CA
    # signed? (Something else may listen there.) Until cloudsim serves it, there is nothing to
    # point kubectl at.
    address = urllib.parse.urlsplit(status["apiAddress"])
    probe = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    probe.check_hostname = False  # kubectl checks the SANs below
    probe.load_cert_chain(str(tmp_path / "cert.pem"), str(tmp_path / "key.pem"))
    try:
        with socket.create_connection((address.hostname, address.port), timeout=2) as sock:
            with probe.wrap_socket(sock):
                pass
    except (OSError, ssl.SSLError) as e:
        pytest.skip(f"the cluster's API is not served at {status['apiAddress']} by a server the "
                    f"cluster CA vouches for ({e}); cloudsim serves it once its simulated "
                    "kube-apiserver answers at the stack's api_address")
    result = subprocess.run(
        [kubectl, "--kubeconfig", "/dev/null", "-s", status["apiAddress"],
         "--certificate-authority", "ca.pem", "--client-certificate", "cert.pem",
         "--client-key", "key.pem", "get", "--raw", "/healthz"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"

    # And the kubeconfig `magnumctl config` writes, as the seed's `eval $(... cluster config)`.
    made = ctl(m, "config", "prod", "--dir", str(tmp_path / "kube"))
    assert made.returncode == 0, made.stderr
    env = dict(os.environ, KUBECONFIG=str(tmp_path / "kube" / "config"))
    result = subprocess.run([kubectl, "get", "--raw", "/healthz"], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
