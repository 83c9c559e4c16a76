"""A stand-in for the few Airflow names a chama DAG uses, so that the tests
can import a rendered DAG and run its tasks where Airflow is not installed.
Only what the tests need: DAG as a context manager, tasks and >> (which
records each task's upstream task ids)."""

DAGS = {}  # dag_id -> DAG
TASKS = {}  # (dag_id, task_id) -> operator
_dag = []  # the DAG being defined


class DAG:
    def __init__(self, dag_id, **kw):
        self.dag_id = dag_id
        self.kw = kw
        DAGS[dag_id] = self

    def __enter__(self):
        _dag.append(self)
        return self

    def __exit__(self, *exc):
        _dag.pop()
        return False
