"""Domain models shared by every layer: what an error looks like and what a fix looks like."""

from domain.event import Breadcrumb, ErrorEvent, ExceptionInfo, RequestContext, StackFrame
from domain.fix import Confidence, FileChange, FixResult, Usage
from domain.issue import Issue
from domain.job import JobOutcome, JobState, NotifyEvent, PublishOutcome
from domain.pull_request import PullRequest, PullRequestSpec

__all__ = [
    "Breadcrumb",
    "Confidence",
    "ErrorEvent",
    "ExceptionInfo",
    "FileChange",
    "FixResult",
    "Issue",
    "JobOutcome",
    "JobState",
    "NotifyEvent",
    "PublishOutcome",
    "PullRequest",
    "PullRequestSpec",
    "RequestContext",
    "StackFrame",
    "Usage",
]
