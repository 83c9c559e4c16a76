class AirflowException(Exception):
    """A failed try: Airflow retries it while the task has retries left."""


class AirflowFailException(AirflowException):
    """A failed task: Airflow does not retry it."""


class AirflowSkipException(AirflowException):
    """A skipped task."""
