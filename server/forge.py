"""Which forge a project lives on: its clone URL and the SCM provider that opens its PRs."""

from __future__ import annotations

from scm.base import ScmError, ScmProvider
from server.config import ProjectConfig, Secrets, Settings

DEFAULT_HOSTS = {"github": "https://github.com", "gitlab": "https://gitlab.com", "bitbucket": "https://bitbucket.org"}


def clone_url(settings: Settings, project: ProjectConfig) -> str:
    if project.clone_url:
        return project.clone_url
    host = DEFAULT_HOSTS[settings.scm.type]
    if settings.scm.base_url:  # GitHub Enterprise: https://HOST/api/v3 → https://HOST
        host = settings.scm.base_url.split("/api/", 1)[0]
    return f"{host}/{project.scm_repo}.git"


def scm_provider(settings: Settings, secrets: Secrets) -> ScmProvider:
    if settings.scm.type != "github":
        raise ScmError(f"scm.type {settings.scm.type!r} is not supported yet (github is)")
    from scm.github import GitHubProvider

    token = secrets.github_token.get_secret_value() if secrets.github_token else ""
    return GitHubProvider(token, base_url=settings.scm.base_url or "https://api.github.com")
