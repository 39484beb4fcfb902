"""What a notification says, decided once for every platform: a headline, a summary, labelled
facts and links, built from a (redacted) job outcome. Each notifier only lays it out (Block Kit,
a Discord embed, an Adaptive Card, JSON) and clips it to its platform's limits with `clip`.

No source code goes out: a PR is described by its diff stat (files and +/- line counts), never
by the diff itself. The outcome reaching a notifier has already passed the redactor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from domain.job import JobOutcome, NotifyEvent

# A colour per event, for platforms that show one (Discord embeds, Slack's side bar).
COLOURS: dict[NotifyEvent, int] = {"pr_opened": 0x2EB67D, "analysis": 0xECB22E, "failed": 0xE01E5A,
                                   "skipped": 0x868686}
HEADLINES: dict[NotifyEvent, str] = {
    "pr_opened": "Pull request opened",
    "analysis": "Analysis without a pull request",
    "failed": "Fix job failed",
    "skipped": "Fix job skipped",
}


@dataclass
class Message:
    event: NotifyEvent
    headline: str  # "Pull request opened: fix: guard empty carts"
    summary: str  # root cause, or why the job failed / was skipped
    facts: list[tuple[str, str]] = field(default_factory=list)  # (label, value), shown side by side
    links: list[tuple[str, str]] = field(default_factory=list)  # (label, url), the first is the main one
    colour: int = 0

    @property
    def url(self) -> str | None:
        """The link the whole message points to (the PR, else the job, else the issue)."""
        return self.links[0][1] if self.links else None

    def text(self) -> str:
        """The message as plain text: notification previews, fallbacks, the generic webhook."""
        lines = [self.headline, self.summary, *(f"{k}: {v}" for k, v in self.facts),
                 *(f"{k}: {u}" for k, u in self.links)]
        return "\n".join(line for line in lines if line)


def clip(text: str, limit: int, more: str | None = None) -> str:
    """`text` cut to `limit` characters, ending with "…" and, when given, a link to the rest."""
    if len(text) <= limit:
        return text
    tail = f"… (more: {more})" if more else "…"
    if len(tail) >= limit:
        tail = "…"
    return text[: limit - len(tail)].rstrip() + tail


def job_url(jobs_url: str | None, job_id: str) -> str | None:
    return f"{jobs_url.rstrip('/')}/{quote(job_id, safe=':')}" if jobs_url else None


def diff_stat(outcome: JobOutcome) -> list[tuple[str, int, int]]:
    """(file, added, removed) per file the fix changed, counted from its unified diff."""
    fix = outcome.fix
    if fix is None:
        return []
    counts: dict[str, list[int]] = {c.file: [0, 0] for c in fix.changes}
    current: list[int] | None = None
    for line in fix.diff.splitlines():
        if line.startswith("+++ "):
            name = line[4:].strip()
            name = name[2:] if name.startswith("b/") else name
            current = counts.setdefault(name, [0, 0]) if name != "/dev/null" else None
        elif line.startswith("--- ") or line.startswith("diff "):
            continue
        elif current is not None and line.startswith("+"):
            current[0] += 1
        elif current is not None and line.startswith("-"):
            current[1] += 1
    return [(name, added, removed) for name, (added, removed) in counts.items()]


def files_changed(outcome: JobOutcome, limit: int = 5) -> str:
    stat = diff_stat(outcome)
    shown = [f"{name} (+{a} −{r})" for name, a, r in stat[:limit]]
    if len(stat) > limit:
        shown.append(f"and {len(stat) - limit} more")
    return ", ".join(shown)


def build(event: NotifyEvent, outcome: JobOutcome, jobs_url: str | None = None) -> Message:
    """The message for `outcome`, notified as `event`."""
    fix, publication = outcome.fix, outcome.publication
    title = (publication.title if publication and publication.title else "") or outcome.title or "(untitled)"
    facts: list[tuple[str, str]] = [("Issue", outcome.issue_id)]
    if outcome.project:
        facts.append(("Project", outcome.project))
    if outcome.repo:
        facts.append(("Repository", outcome.repo))
    links: list[tuple[str, str]] = []
    job = job_url(jobs_url, outcome.job_id)
    if event == "pr_opened":
        summary = fix.root_cause if fix else ""
        if outcome.pr_url:
            links.append(("Pull request", outcome.pr_url))
    elif event == "analysis":
        why = (publication.reason if publication and publication.reason else outcome.reason) or "see the job"
        summary = f"{fix.root_cause if fix else ''}\nNo pull request: {why}".strip()
    elif event == "failed":
        stage = outcome.stages[-1] if outcome.stages else "start"
        summary = outcome.reason or "no reason was recorded"
        facts.append(("Stage", stage))
    else:
        summary = outcome.reason or "nothing to do"
    if fix is not None and event in ("pr_opened", "analysis"):
        facts.append(("Confidence", fix.confidence.value))
        if outcome.validation is not None:
            facts.append(("Tests", outcome.validation.summary()))
        if fix.changes:
            facts.append(("Files changed", files_changed(outcome)))
        if fix.usage.cost_usd:
            facts.append(("Cost", f"${fix.usage.cost_usd:.2f}"))
    if outcome.warnings:
        facts.append(("Warnings", "; ".join(outcome.warnings)))
    if job:
        links.append(("Job", job))
    if outcome.issue_url:
        links.append(("Issue", outcome.issue_url))
    headline = f"{HEADLINES[event]}: {title}"
    return Message(event=event, headline=headline, summary=summary, facts=facts, links=links, colour=COLOURS[event])
