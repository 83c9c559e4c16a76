"""Imports a rendered chama DAG with the Airflow stand-in in stub/ and
prints its shape as JSON: per DAG its keyword arguments (max_active_runs
...) and per task its upstream task ids, pool, pool slots, queue, retries,
trigger rule and chama's arguments as Airflow renders them for the run of
2024-12-12 07:00.

    python3 graph.py DAG_FILE
"""
import json
import os
import runpy
import sys

sys.dont_write_bytecode = True  # nothing written under testdata
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "stub"))

import airflow  # noqa: E402  (the stub)
from airflow.operators._base import context, render  # noqa: E402

runpy.run_path(sys.argv[1])
out = {}
for dag_id, dag in airflow.DAGS.items():
    kw = {k: v for k, v in dag.kw.items() if isinstance(v, (str, int, bool))}
    out[dag_id] = {"kw": kw, "tasks": {}}
for (dag_id, task_id), t in airflow.TASKS.items():
    out[dag_id]["tasks"][task_id] = {
        "upstream": sorted(t.upstream),
        "pool": t.pool,
        "pool_slots": t.pool_slots,
        "queue": t.queue,
        "retries": t.retries,
        "trigger_rule": t.trigger_rule,
        "args": render(t.op_kwargs, context())["chama_args"],
    }
print(json.dumps(out, indent=1, sort_keys=True))
