"""The base of the errors that the commands turn into one line and a non-zero exit."""


class InputError(Exception):
    """Bad input (a file, a column, an option): the message names the value and what was expected."""
