"""The durable fix pipeline: the DBOS workflow and its steps (fetch, fix, publish, notify), the
services they use, and the runtime that starts DBOS."""
