"""The eval fixture cases hold buggy projects with their own tests: those are data for the eval
harness tests (tests/test_eval_harness.py), never tests of autofixer, so pytest must not collect
them."""

collect_ignore_glob = ["*"]
