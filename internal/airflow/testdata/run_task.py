"""Imports a rendered chama DAG with the Airflow stand-in in stub/ and runs
one task the way a worker would, printing how Airflow would take the
outcome: ok, retry (a failed try, retried while retries are left), fail
(failed at once, no retries) or skip.

    python3 run_task.py DAG_FILE DAG_ID TASK_ID [RUN_ID]
"""
import json
import os
import runpy
import sys

sys.dont_write_bytecode = True  # nothing written under testdata
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "stub"))

import airflow  # noqa: E402  (the stub)
from airflow.exceptions import AirflowFailException, AirflowSkipException  # noqa: E402
from airflow.operators._base import context  # noqa: E402

dag_file, dag_id, task_id = sys.argv[1:4]
run_id = sys.argv[4] if len(sys.argv) > 4 else "manual__test"
runpy.run_path(dag_file)
task = airflow.TASKS[(dag_id, task_id)]
outcome, err = "ok", ""
try:
    task.run(context(run_id=run_id))
except AirflowFailException as e:
    outcome, err = "fail", str(e)
except AirflowSkipException as e:
    outcome, err = "skip", str(e)
except Exception as e:  # Airflow retries any other exception
    outcome, err = "retry", "%s: %s" % (type(e).__name__, e)
print(json.dumps({"outcome": outcome, "err": err}))
