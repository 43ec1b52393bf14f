"""What a command can fail with, and the exit code each failure means (0 ok, 1 failed, 2 usage)."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class CliError(Exception):
    """The operation failed; the message is one line for the user."""

    exit_code = EXIT_FAILED


class UsageError(CliError):
    """The command line is wrong: the user has to change it."""

    exit_code = EXIT_USAGE


class NoDaemon(CliError):
    """Nothing answers at the endpoint."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(f"no s3d at {endpoint}: start it with `s3d run`")


class S3Failure(CliError):
    """The daemon answered with an S3 error: its code and message."""

    def __init__(self, code: str, message: str, context: str = "") -> None:
        self.code = code
        self.message = message
        text = f"{code}: {message}" if message else code
        super().__init__(f"{context}: {text}" if context else text)
