"""Source-control providers: push a fix branch and open its pull/merge request."""
