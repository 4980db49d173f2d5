"""The check engine: checks read measurements and the run context and return verdicts.

A check is a function ``(m: Measurements, ctx: CheckContext) -> CheckResult`` registered under
its contract id with :func:`file_check`. Thresholds come from ``ctx.profile``; a check holds no
numbers of its own. A check that raises is reported with status ``error`` and the exception's
text; it never stops the other checks.
"""

from qa.checks.engine import (
    FILE_CHECKS,
    CheckContext,
    CheckSpec,
    file_check,
    run_file_checks,
)

# Importing the modules registers their checks.
from qa.checks import format as _format  # noqa: F401,E402
from qa.checks import levels as _levels  # noqa: F401,E402
from qa.checks import content as _content  # noqa: F401,E402
from qa.checks import loudness as _loudness  # noqa: F401,E402
from qa.checks import song as _song  # noqa: F401,E402

__all__ = ["FILE_CHECKS", "CheckContext", "CheckSpec", "file_check", "run_file_checks"]
