"""The settings object of an engine function: its defaults when none is given, and a loud
refusal of anything else.

Functions with many settings take one small dataclass (``HotSpotOptions``, ``ZonalOptions``
…) next to their data, seed and feedback. Passing something else (a value where the old
signature had a separate argument, or an old keyword swallowed by ``**spec_kwargs``) is a
programming error: it raises ``TypeError`` naming the options class, never a silently
different result.
"""


def options_or_default(options, options_class, function):
    """``options``, or ``options_class()`` when None; a ``TypeError`` for anything else."""
    if options is None:
        return options_class()
    if not isinstance(options, options_class):
        raise TypeError(f"{function}: options must be {options_class.__name__}(...), "
                        f"not {type(options).__name__}")
    return options


def refuse_ignored_keywords(spec, spec_kwargs, options_class, function):
    """Raise ``TypeError`` when ``spec`` is given and ``spec_kwargs`` would be dropped without a word."""
    if spec is not None and spec_kwargs:
        raise TypeError(f"{function}() got unexpected keyword argument(s) {', '.join(sorted(spec_kwargs))}; "
                        f"settings go into {options_class.__name__}")
