"""The data builders' exception; justrl-prep turns it (and every other InputError) into one line."""

from justrl_common.errors import InputError


class PrepError(InputError):
    """Bad input to a builder (file, column, option): the message names the value and what was expected."""
