"""The engine's own exception types; messages are for planners, in their language."""
from .i18n import tr


class KommunalmonitorError(Exception):
    """Base class of every error the engine raises on purpose.

    The message is already translated and names the layer, field or value concerned
    and what to do about it; adapters show it as it is, never a traceback.
    """

    def __init__(self, message, **details):
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self):
        return self.message


class InputError(KommunalmonitorError):
    """The input data cannot be used as given (missing field, bad CRS, empty layer...)."""


class InfeasibleError(KommunalmonitorError):
    """The request cannot be met; ``details`` says which constraint, where, and what would help."""


class DependencyError(KommunalmonitorError):
    """A required Python package is missing; the message names what to install."""


class CancelledError(KommunalmonitorError):
    """The user cancelled the run."""

    def __init__(self, message=None, **details):
        super().__init__(message or tr("The run was cancelled."), **details)
