"""The project's error base class.

Every error whose message names the file or setting at fault and the fix
derives from ``UserError``: the tools and the pipeline print such an error as
one line and exit 1; anything else is a bug and keeps its traceback. Each
subclass also derives from the built-in error it used to be (``ValueError``,
``OSError``...), so code catching those still catches it.
"""


class UserError(Exception):
    """A problem of the input or the command line; the message says what to change."""
