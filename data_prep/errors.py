"""The one exception type the CLI turns into a one-line message and a non-zero exit."""


class PrepError(Exception):
    """Bad input (file, column, option): the message names the value and what was expected."""
