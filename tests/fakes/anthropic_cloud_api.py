"""Local fakes of Claude on Amazon Bedrock and Google Vertex AI, as the `anthropic` SDK's Bedrock
and Vertex clients call them, for tests only. The Messages semantics (validation, scripted turns,
usage) are FakeAnthropic's; what differs is checked here:

- Bedrock `POST /model/{modelId}/invoke`: SigV4 `Authorization: AWS4-HMAC-SHA256
  Credential=<key id>/<date>/<region>/bedrock/aws4_request, SignedHeaders=…, Signature=…` with
  `x-amz-date` (or `Bearer <Bedrock API key>`); body with `anthropic_version:
  "bedrock-2023-05-31"` (or an API version date) and no `model` (the model is in the path).
- Vertex `POST /v1/projects/{project}/locations/{region}/publishers/anthropic/models/{model}:rawPredict`:
  `Authorization: Bearer <OAuth token>`; body with `anthropic_version: "vertex-2023-10-16"`, no `model`.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from quart import Quart, Response, request

from tests.fakes.anthropic_api import FakeAnthropic, InvalidRequest

BEDROCK_VERSION = "bedrock-2023-05-31"
VERTEX_VERSION = "vertex-2023-10-16"
# The documented body versions are bedrock-2023-05-31 / vertex-2023-10-16; the installed SDK
# (anthropic 2.14) sends its API version date instead, which both accept.
_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SIGV4 = re.compile(r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/\d{8}/(?P<region>[a-z0-9-]+)/bedrock/aws4_request, "
                    r"SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$")


class FakeCloudClaude:
    def __init__(self, cloud: Literal["bedrock", "vertex"], *, credential: str, region: str,
                 project: str = "test-project") -> None:
        self.cloud = cloud
        self.credential = credential  # the AWS access key id / API key, or the OAuth token
        self.region = region
        self.project = project
        self.messages = FakeAnthropic([])
        self.paths: list[str] = []
        self.app = self._build_app()

    @property
    def script(self) -> list[Any]:
        return self.messages.script

    def _build_app(self) -> Quart:
        app = Quart(__name__)

        @app.post("/model/<model>/invoke")
        async def bedrock(model: str) -> Response:
            return await self._answer(model, BEDROCK_VERSION, self._check_bedrock_auth)

        @app.post("/v1/projects/<project>/locations/<region>/publishers/anthropic/models/<spec>")
        async def vertex(project: str, region: str, spec: str) -> Response:
            model, _, method = spec.partition(":")
            if self.cloud != "vertex" or method != "rawPredict" or (project, region) != (self.project, self.region):
                return Response(json.dumps({"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}}),
                                404, {"content-type": "application/json"})
            return await self._answer(model, VERTEX_VERSION, self._check_vertex_auth)

        return app

    async def _answer(self, model: str, version: str, check: Any) -> Response:
        self.paths.append(request.path)
        headers = {k.lower(): v for k, v in request.headers.items()}
        body = json.loads(await request.get_data())
        if isinstance(body, dict):
            problem = None
            if "model" in body:  # the path names the model; the body must not
                problem = "model: Extra inputs are not permitted"
            elif not _VERSION.match(str(body.get("anthropic_version"))) and body.get("anthropic_version") != version:
                problem = f"anthropic_version: required ({version!r} or an API version date)"
            body = {k: v for k, v in body.items() if k != "anthropic_version"}
            body.setdefault("model", model)
            if problem:
                return await self.messages.respond(headers, body, check_headers=_reject(problem))
        return await self.messages.respond(headers, body, check_headers=check)

    def _check_bedrock_auth(self, headers: dict[str, str]) -> None:
        auth = headers.get("authorization", "")
        if auth.startswith("Bearer "):
            if auth.removeprefix("Bearer ") != self.credential:
                raise InvalidRequest("The security token included in the request is invalid.", 403, "AccessDenied")
            return
        signed = _SIGV4.match(auth)
        if not signed or not headers.get("x-amz-date"):
            raise InvalidRequest("Missing Authentication Token", 403, "MissingAuthenticationTokenException")
        if signed["key"] != self.credential or signed["region"] != self.region:
            raise InvalidRequest("The security token included in the request is invalid.", 403, "AccessDenied")

    def _check_vertex_auth(self, headers: dict[str, str]) -> None:
        if headers.get("authorization") != f"Bearer {self.credential}":
            raise InvalidRequest("Request had invalid authentication credentials.", 401, "UNAUTHENTICATED")


def _reject(message: str) -> Any:
    def check(_: dict[str, str]) -> None:
        raise InvalidRequest(message)
    return check
