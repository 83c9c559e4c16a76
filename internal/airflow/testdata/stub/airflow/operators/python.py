from airflow.operators._base import BaseOperator, call


class PythonOperator(BaseOperator):
    template_fields = ("templates_dict", "op_args", "op_kwargs")

    def __init__(self, task_id, python_callable, op_args=(), op_kwargs=None, templates_dict=None, **kw):
        super().__init__(task_id, **kw)
        self.python_callable = python_callable
        self.op_args = list(op_args)
        self.op_kwargs = op_kwargs or {}
        self.templates_dict = templates_dict

    def execute(self, ctx):
        if self.op_args:
            raise NotImplementedError("the stub passes op_kwargs only")
        return call(self.python_callable, ctx, self.op_kwargs)
