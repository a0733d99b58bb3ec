"""Asynchronous tasks: submit, control, read, run, and survive restarts.

Owns: the state machine (`domain`), rows (`store`), result files (`results`, `results_s3`), the
queue port and its adapters (`queue`), progress events and streams, the runner, webhooks
(`callbacks`), batch archives, and `TaskService` with its concerns (`submit`, `control`,
`query`, `lifecycle`). Tasks run slices through the registry.

May import: `core`, `db`, `kernel`, `registry`, `usage`, `auth`, `http` and `sdk`.
"""
