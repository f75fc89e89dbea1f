"""The one kind of failure a `lambda-ack` command reports: a message for the user whose last line
says what to do. Anything else escaping a command is a bug, and shows its traceback."""


class CommandError(Exception):
    """A problem with the command's input or this machine, said for the user."""
