"""Running a project's code safely: its tests, its setup, and anything an LLM wrote.

Everything that executes code of the project under repair (which, after an agent's turn,
includes LLM-written code) goes through this package and nowhere else:

- `config.TestsConfig` is a project's `tests:` block (setup, command, runner, limits, env);
- `sandbox` starts a command in a bubblewrap sandbox (read-only system, only the worktree
  overlay and a tmpfs writable, no network, own PID namespace, no autofixer secrets, CPU /
  memory / process / time / output limits, the whole tree killed at the limit);
- `environment` builds a project's dependencies (venv, node_modules) once per repository and
  lock-file hash and reuses them;
- `engine.TestEngine` is the one facade the agent's `run_tests` tool, the pipeline's
  validation and the eval harness call;
- `report` is what a run returns (`TestReport`), compact enough for a model to read.

Arrows: tools, server and evals import this package; it imports only `common` and `domain`.
"""
