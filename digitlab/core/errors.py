"""The one base class of every error whose message is written for a user.

A `UserError` says, in words a person understands, why something was refused (a run that
doesn't exist, a setting out of range, a file that isn't an image). The command line prints
its message as one line and the child process passes it back; any other exception is a bug,
and shows as one.
"""


class UserError(Exception):
    """Something a user asked for can't be done; the message says why and what to do."""
