"""Domain models shared by every layer: what an error looks like and what a fix looks like."""

from domain.event import Breadcrumb, ErrorEvent, ExceptionInfo, RequestContext, StackFrame
from domain.fix import Confidence, FileChange, FixResult, Usage

__all__ = [
    "Breadcrumb",
    "Confidence",
    "ErrorEvent",
    "ExceptionInfo",
    "FileChange",
    "FixResult",
    "RequestContext",
    "StackFrame",
    "Usage",
]
