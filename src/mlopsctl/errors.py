"""The error model: every failure a user can cause is one of these, with a one-line message and a hint.

    MlopsctlError                 1  generic
    ├── Declined                  1  a confirmation prompt answered no (or no terminal to ask on)
    ├── UsageError                2  bad flag value, bad name, bad config file
    ├── PrerequisiteMissing       3  docker, kind, kubectl, helm absent or too old
    ├── ExternalCommandFailed     4  a tool or download we ran failed
    ├── ClusterError              5  cluster unreachable, forbidden, conflict
    ├── VerificationFailed        6  verify/loadtest found failures (the report is still printed)
    └── Interrupted             130  Ctrl-C during a wait, with a note of what was already done

Unexpected exceptions exit 70 and Ctrl-C exits 130; both are handled in `cli/main.py`, nowhere else.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    PREREQUISITE_MISSING = 3
    EXTERNAL_COMMAND_FAILED = 4
    CLUSTER_UNREACHABLE = 5
    VERIFICATION_FAILED = 6
    UNEXPECTED = 70
    INTERRUPTED = 130


class MlopsctlError(Exception):
    exit_code: ExitCode = ExitCode.ERROR

    def __init__(
        self, message: str, hint: str | None = None, detail: str | None = None, partial: object | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        # Shown only with -v: the pasteable command line and the tail of its output.
        self.detail = detail
        # What was measured or built before the failure (a load test's partial report, the steps `cluster up`
        # finished), for the command to show before the error; None when there is nothing to show.
        self.partial = partial


class Declined(MlopsctlError):
    exit_code = ExitCode.ERROR


class UsageError(MlopsctlError):
    exit_code = ExitCode.USAGE


class PrerequisiteMissing(MlopsctlError):
    exit_code = ExitCode.PREREQUISITE_MISSING


class ExternalCommandFailed(MlopsctlError):
    exit_code = ExitCode.EXTERNAL_COMMAND_FAILED


class ClusterError(MlopsctlError):
    """The cluster could not be reached, refused us, or rejected a request."""

    exit_code = ExitCode.CLUSTER_UNREACHABLE


class ClusterUnreachable(ClusterError):
    pass


class Forbidden(ClusterError):
    pass


class NotFound(ClusterError):
    pass


class Conflict(ClusterError):
    pass


class VerificationFailed(MlopsctlError):
    exit_code = ExitCode.VERIFICATION_FAILED


class Interrupted(MlopsctlError):
    """Ctrl-C arrived during a long wait; the message says what was already done, so a re-run can converge, and
    `partial` carries what was measured or built until then."""

    exit_code = ExitCode.INTERRUPTED
