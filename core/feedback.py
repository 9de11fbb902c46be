"""Progress and cancellation for long computations, independent of QGIS.

Core functions take ``feedback=None`` and call ``feedback.progress(fraction)``,
``feedback.info(text)`` and ``feedback.check()`` (raises ``CancelledError`` when the
user cancelled). The Processing adapter passes an object that forwards to
``QgsProcessingFeedback``; tests and scripts pass nothing or a ``Feedback`` with
callbacks.
"""
from .errors import CancelledError


class Feedback:
    """Progress/cancellation callback holder.

    Parameters
    ----------
    on_progress : callable(float) or None
        Receives the overall fraction done, 0.0 to 1.0.
    on_info : callable(str) or None
        Receives messages for the log.
    is_cancelled : callable() -> bool, or None
        Returns True once the user asked to stop.
    """

    def __init__(self, on_progress=None, on_info=None, is_cancelled=None, on_warning=None):
        self._on_progress = on_progress
        self._on_info = on_info
        self._on_warning = on_warning
        self._is_cancelled = is_cancelled
        self._start, self._span = 0.0, 1.0

    def progress(self, fraction):
        """Report the fraction done of the current step (0..1)."""
        if self._on_progress is not None:
            fraction = min(max(float(fraction), 0.0), 1.0)
            self._on_progress(self._start + self._span * fraction)

    def info(self, text):
        """Write a message to the log."""
        if self._on_info is not None:
            self._on_info(text)

    def warning(self, text):
        """Write a warning a planner should see (falls back to ``info``)."""
        if self._on_warning is not None:
            self._on_warning(text)
        else:
            self.info(text)

    def cancelled(self):
        """True once the user asked to stop."""
        return bool(self._is_cancelled and self._is_cancelled())

    def check(self):
        """Raise ``CancelledError`` if the user asked to stop."""
        if self.cancelled():
            raise CancelledError()

    def step(self, start, end):
        """Return a feedback whose 0..1 maps onto ``start..end`` of this one."""
        child = Feedback(self._on_progress, self._on_info, self._is_cancelled, self._on_warning)
        child._start = self._start + self._span * start
        child._span = self._span * (end - start)
        return child


class KeptFeedback(Feedback):
    """A ``Feedback`` that keeps every message (``infos``, ``warnings``), sub-steps' included.

    For scripts and tests; the callbacks, if given, still receive each message.
    """

    def __init__(self, on_progress=None, on_info=None, is_cancelled=None, on_warning=None):
        self.infos, self.warnings = [], []

        def keep_info(text):
            self.infos.append(text)
            if on_info is not None:
                on_info(text)

        def keep_warning(text):
            self.warnings.append(text)
            if on_warning is not None:
                on_warning(text)

        super().__init__(on_progress, keep_info, is_cancelled, keep_warning)


def ensure_feedback(feedback):
    """Return ``feedback`` or a silent ``Feedback`` when None."""
    return feedback if feedback is not None else Feedback()
