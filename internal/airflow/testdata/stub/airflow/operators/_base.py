import datetime
import inspect
import re

import airflow

_expr = re.compile(r"\{\{\s*(.+?)\s*\}\}")


def render(v, context):
    """Renders {{ expr }} in strings, lists and dicts, like Airflow's
    templated fields (enough Jinja for a chama DAG)."""
    if isinstance(v, str):
        return _expr.sub(lambda m: str(eval(m.group(1), {}, dict(context))), v)
    if isinstance(v, (list, tuple)):
        return type(v)(render(x, context) for x in v)
    if isinstance(v, dict):
        return {k: render(x, context) for k, x in v.items()}
    return v


def context(run_id="manual__test", logical_date=datetime.datetime(2024, 12, 12, 7)):
    return {
        "run_id": run_id,
        "logical_date": logical_date,
        "ds": logical_date.strftime("%Y-%m-%d"),
        "ds_nodash": logical_date.strftime("%Y%m%d"),
    }


class BaseOperator:
    template_fields = ()

    def __init__(self, task_id, retries=None, trigger_rule="all_success", pool=None, pool_slots=1, queue=None, **kw):
        self.task_id = task_id
        self.retries = retries
        self.trigger_rule = trigger_rule
        self.pool = pool
        self.pool_slots = pool_slots
        self.queue = queue
        self.upstream = set()  # task ids, like Airflow's upstream_task_ids
        self.dag = airflow._dag[-1]
        if (self.dag.dag_id, task_id) in airflow.TASKS:
            raise ValueError("duplicate task id %s.%s" % (self.dag.dag_id, task_id))
        airflow.TASKS[(self.dag.dag_id, task_id)] = self

    def run(self, ctx):
        for f in self.template_fields:
            setattr(self, f, render(getattr(self, f), ctx))
        return self.execute(ctx)

    def set_downstream(self, other):
        for o in other if isinstance(other, (list, tuple)) else [other]:
            o.upstream.add(self.task_id)

    def __rshift__(self, other):  # self >> other (a task or a list)
        self.set_downstream(other)
        return other

    def __rrshift__(self, other):  # [tasks] >> self
        for o in other:
            o.set_downstream(self)
        return self


def call(fn, ctx, kwargs):
    """Calls fn like Airflow's PythonOperator: its op_kwargs, plus the
    context values its signature names."""
    params = inspect.signature(fn).parameters
    every = any(p.kind == p.VAR_KEYWORD for p in params.values())
    merged = dict(ctx, **kwargs)
    return fn(**{k: v for k, v in merged.items() if every or k in params})
