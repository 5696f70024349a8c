"""User-facing errors.

Everything a user can cause (bad card, missing data, wrong label mapping, count mismatch) raises
:class:`XgapError`. The CLI prints ``xgap: <message>`` on one line and exits non-zero, never a
traceback. Messages should name the file/field/task involved and say how to fix it.
"""


class XgapError(Exception):
    """An error caused by input the user controls; printed as one line by the CLI."""

    exit_code = 2


class ValidationFailed(XgapError):
    """One or more documents failed schema validation; ``problems`` holds one line each."""

    exit_code = 1

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems) if self.problems else "validation failed")
