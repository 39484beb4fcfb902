"""Shared lower layers every connector, tool and eval imports: one hardened git runner
(`common.git`) and one HTTP client base (`common.http`). They depend on `domain/` only."""
