"""`autofixer demo --scm gitlab|bitbucket|bitbucket-datacenter`: the forge's side of the demo.

A local stand-in for the forge's pull/merge-request REST endpoints (the few calls autofixer
makes: list open requests for a branch, open one), so the demo opens a real merge request
through the real GitLab or Bitbucket provider, offline. Everything it answers is labelled
STAND-IN by the demo; it keeps what it was sent in memory so the demo can print it. It checks
the token the provider sends, as the forge would. It is a demo prop, not a product mode: no
configuration can point the service at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from quart import Quart, Response, jsonify, request

KINDS = ("gitlab", "bitbucket", "bitbucket-datacenter")
LABELS = {"gitlab": "GitLab", "bitbucket": "Bitbucket Cloud", "bitbucket-datacenter": "Bitbucket Data Center"}
REPOS = {"gitlab": "acme/backend/shop", "bitbucket": "acme/shop", "bitbucket-datacenter": "ACME/shop"}


@dataclass
class ForgeStandIn:
    kind: str
    token: str
    opened: list[dict[str, Any]] = field(default_factory=list)  # what the provider sent, in order

    def api_root(self, url: str) -> str:
        """The `base-url` the forge's config entry takes for a stand-in served at `url`."""
        return f"{url}/2.0" if self.kind == "bitbucket" else url

    def app(self) -> Quart:
        app = Quart("forge-stand-in")
        paths = {"gitlab": "/api/v4/projects/<path:repo>/merge_requests",
                 "bitbucket": "/2.0/repositories/<path:repo>/pullrequests",
                 "bitbucket-datacenter": "/rest/api/1.0/projects/<key>/repos/<slug>/pull-requests"}

        @app.route(paths[self.kind], methods=["GET", "POST"])
        async def pulls(**parts: str) -> Response | tuple[Response, int]:
            auth = request.headers.get("PRIVATE-TOKEN") or request.headers.get("Authorization", "")
            if self.token not in auth:
                return jsonify({"message": "401 Unauthorized"}), 401
            if request.method == "GET":
                return jsonify([] if self.kind == "gitlab" else {"values": [], "size": 0})
            body = await request.get_json()
            number = len(self.opened) + 1
            self.opened.append(body)
            return jsonify(self._answer(body, number)), 201

        return app

    def _answer(self, body: dict[str, Any], number: int) -> dict[str, Any]:
        """The fields of the forge's documented create answer that autofixer reads."""
        repo = REPOS[self.kind]
        if self.kind == "gitlab":
            return {"iid": number, "web_url": f"https://gitlab.stand-in.invalid/{repo}/-/merge_requests/{number}",
                    "source_branch": body["source_branch"], "target_branch": body["target_branch"],
                    "state": "opened", "labels": body.get("labels", "").split(",")}
        if self.kind == "bitbucket":
            return {"id": number, "state": "OPEN", "source": body["source"], "destination": body["destination"],
                    "links": {"html": {"href": f"https://bitbucket.stand-in.invalid/{repo}/pull-requests/{number}"}}}
        key, slug = repo.split("/")
        return {"id": number, "state": "OPEN",
                "fromRef": {"displayId": body["fromRef"]["id"].removeprefix("refs/heads/")},
                "toRef": {"displayId": body["toRef"]["id"].removeprefix("refs/heads/")},
                "links": {"self": [{"href": f"https://bitbucket.stand-in.invalid/projects/{key}/repos/{slug}"
                                            f"/pull-requests/{number}"}]}}


__all__ = ["KINDS", "LABELS", "REPOS", "ForgeStandIn"]
