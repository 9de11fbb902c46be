"""Progress and cancellation (``core.feedback``) and the engine's error types."""
import pytest

from kommunalmonitor.core import i18n
from kommunalmonitor.core.errors import (CancelledError, DependencyError, InfeasibleError, InputError,
                                         KommunalmonitorError)
from kommunalmonitor.core.feedback import Feedback, ensure_feedback


def test_progress_is_clamped_and_mapped_through_steps():
    seen = []
    feedback = Feedback(on_progress=seen.append)
    feedback.progress(0.5)
    feedback.progress(2.0)
    feedback.progress(-1)
    assert seen == [0.5, 1.0, 0.0]
    seen.clear()
    second_half = feedback.step(0.5, 1.0)
    second_half.progress(0.0)
    second_half.progress(0.5)
    quarter = second_half.step(0.5, 1.0)  # nested: 0.75..1.0 overall
    quarter.progress(0.5)
    assert seen == [0.5, 0.75, 0.875]


def test_cancel_raises_cancelled_with_a_translated_message():
    state = {"stop": False}
    feedback = Feedback(is_cancelled=lambda: state["stop"])
    feedback.check()
    assert not feedback.cancelled()
    state["stop"] = True
    assert feedback.step(0.2, 0.4).cancelled()  # children see the same cancel
    with pytest.raises(CancelledError) as info:
        feedback.check()
    assert str(info.value) == "The run was cancelled."
    with i18n.language("de"):
        assert str(CancelledError()) == "Der Lauf wurde abgebrochen."


def test_info_and_warning_callbacks():
    infos, warnings = [], []
    Feedback(on_info=infos.append).warning("w1")  # falls back to info
    Feedback(on_info=infos.append, on_warning=warnings.append).warning("w2")
    Feedback(on_info=infos.append).step(0, 1).info("i1")
    assert infos == ["w1", "i1"] and warnings == ["w2"]


def test_silent_feedback_and_ensure():
    silent = ensure_feedback(None)
    silent.progress(0.3)
    silent.info("nothing happens")
    silent.warning("nothing happens")
    silent.check()
    given = Feedback()
    assert ensure_feedback(given) is given


def test_error_types_carry_message_and_details():
    error = InfeasibleError("Area 'Mitte' cannot reach 5000 residents.", area="Mitte", needed=5000)
    assert str(error) == error.message == "Area 'Mitte' cannot reach 5000 residents."
    assert error.details == {"area": "Mitte", "needed": 5000}
    for kind in (InputError, InfeasibleError, DependencyError, CancelledError):
        assert issubclass(kind, KommunalmonitorError)
    with pytest.raises(KommunalmonitorError):
        raise InputError("x")


def test_a_broken_translation_falls_back_to_english(monkeypatch):
    text = "Layer '{layer}' has no geometries."
    german = dict(i18n._catalogue("de"))
    german[text] = "Layer '{ebene}' hat keine Geometrien."  # wrong placeholder name
    monkeypatch.setitem(i18n._catalogues, "de", german)
    assert i18n.tr(text, lang="de", layer="Blöcke") == "Layer 'Blöcke' has no geometries."
    assert i18n.tr("Unknown text {x}", lang="de", x=1) == "Unknown text 1"  # untranslated: English


def test_kept_feedback_keeps_messages_of_sub_steps_too():
    from kommunalmonitor.core.feedback import KeptFeedback

    seen = []
    feedback = KeptFeedback(on_warning=seen.append)
    feedback.info("a")
    child = feedback.step(0.5, 1.0)
    child.info("b")
    child.warning("c")
    assert feedback.infos == ["a", "b"] and feedback.warnings == ["c"] and seen == ["c"]
