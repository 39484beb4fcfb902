"""A self-managed forge behind an internal CA: the fake GitLab served over HTTPS with a
certificate signed by a CA made here. `ca-bundle` must make both the REST client (httpx) and
git (fetch and push, `http.sslCAInfo`) trust it, without touching the system store;
without it both refuse; `tls-verify: false` works and is warned about."""

from __future__ import annotations

import datetime
import ipaddress
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from scm.base import ScmError, git_access
from tests.contracts.support import build_connector, make_origin, make_worktree
from tests.fakes.gitlab_api import FakeGitLab
from tests.fakes.serve import serve_app
from tests.test_github import branch_sha
from tests.test_workspace import git
from tools.workspace import WorkspaceError, Workspaces

REPO = "acme/backend/shop"
TOKEN = "glpat-" + "TlsTestToken0123456789"


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_ca_and_server(where: Path) -> tuple[Path, Path, Path]:
    """(ca.pem, server.pem, server.key): an internal CA and a certificate for 127.0.0.1 it signed."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("autofixer test internal CA")).issuer_name(
        _name("autofixer test internal CA")).public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    where.mkdir(parents=True, exist_ok=True)
    paths = where / "ca.pem", where / "server.pem", where / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


@pytest.fixture
def https_gitlab(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """(base URL, ca.pem, origin bare repository) of a GitLab served over HTTPS."""
    ca, cert, key = make_ca_and_server(tmp_path / "pki")
    origin = make_origin(tmp_path / "forge" / f"{REPO}.git")
    fake = FakeGitLab(token=TOKEN, repo_paths={REPO: origin})
    with serve_app(fake.app, tls=(str(cert), str(key))) as url:
        yield url, ca, origin


def forge(url: str, **tls: Any) -> Any:
    provider = build_connector("scms", {"type": "gitlab", "base-url": url, **tls}, {"AUTOFIXER_GITLAB_TOKEN": TOKEN})

    async def no_sleep(_: float) -> None:
        return None

    provider._sleep = no_sleep
    return provider


async def test_ca_bundle_is_trusted_by_rest_fetch_and_push(https_gitlab: tuple[str, Path, Path],
                                                           tmp_path: Path) -> None:
    url, ca, origin = https_gitlab
    gitlab = forge(url, **{"ca-bundle": str(ca)})

    assert await gitlab.find_open_pull_request(REPO, "fix/x") is None  # httpx trusted the CA

    access = await git_access(gitlab)
    assert access["git_config"] == (f"http.sslCAInfo={ca}",) and access["token_user"] == "oauth2"
    resolved = await Workspaces(tmp_path / "state", prewarm=False).resolve(gitlab.clone_url(REPO), "main", **access)
    assert resolved.sha == branch_sha(origin, "main")  # git fetched over HTTPS with the CA

    worktree = make_worktree(origin, tmp_path / "work")
    await gitlab.push_branch(worktree, "fix/tls", gitlab.clone_url(REPO))
    assert branch_sha(origin, "fix/tls") == git(worktree, "rev-parse", "HEAD")
    await gitlab.aclose()  # a kept-alive TLS connection would hold the fake's shutdown


async def test_without_the_ca_both_refuse_the_certificate(https_gitlab: tuple[str, Path, Path],
                                                          tmp_path: Path) -> None:
    url, _, origin = https_gitlab
    gitlab = forge(url)

    with pytest.raises(ScmError, match=r"(?i)certificate"):
        await gitlab.find_open_pull_request(REPO, "fix/x")
    with pytest.raises(WorkspaceError, match=r"(?i)certificate"):
        await Workspaces(tmp_path / "state", prewarm=False).resolve(gitlab.clone_url(REPO), "main",
                                                                    **await git_access(gitlab))
    with pytest.raises(ScmError, match=r"(?i)certificate"):
        await gitlab.push_branch(make_worktree(origin, tmp_path / "work"), "fix/tls", gitlab.clone_url(REPO))


async def test_tls_verify_false_works_and_is_warned_about(https_gitlab: tuple[str, Path, Path], tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    url, _, origin = https_gitlab
    caplog.set_level(logging.WARNING)
    gitlab = forge(url, **{"tls-verify": False})
    assert "TLS certificate verification is OFF" in caplog.text

    assert await gitlab.find_open_pull_request(REPO, "fix/x") is None
    await gitlab.push_branch(make_worktree(origin, tmp_path / "work"), "fix/tls", gitlab.clone_url(REPO))
    assert branch_sha(origin, "fix/tls")
    await gitlab.aclose()


def test_a_bad_ca_bundle_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(Exception, match=r"missing.pem' is not a file"):  # the config's one-line error
        forge("https://gitlab.example.com", **{"ca-bundle": str(tmp_path / "missing.pem")})
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("not a certificate")
    with pytest.raises(Exception, match=r"ca-bundle .* is not a readable PEM"):
        forge("https://gitlab.example.com", **{"ca-bundle": str(not_pem)})
