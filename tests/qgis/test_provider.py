"""The provider loads and exposes its algorithms with translated names and help."""
from kommunalmonitor.core import i18n


def test_provider_registered_with_algorithms(qgis_app):
    from qgis.core import QgsApplication

    provider = QgsApplication.processingRegistry().providerById("kommunalmonitor")
    assert provider is not None
    assert provider.name() == "Kommunalmonitor"


def test_provider_long_name_translated(qgis_app):
    from kommunalmonitor.processing.provider import KommunalmonitorProvider

    with i18n.language("de"):
        assert "Kommunalentwicklung" in KommunalmonitorProvider().longName()
    with i18n.language("en"):
        assert "municipal development" in KommunalmonitorProvider().longName()


def test_shipped_model_has_a_translated_name_and_runs_as_a_copy(qgis_app):
    from qgis.core import QgsApplication

    model = QgsApplication.processingRegistry().algorithmById("kommunalmonitor:councilmapworkflow")
    assert model is not None
    with i18n.language("de"):
        assert model.displayName() == "Ablauf Gremienkarte (aggregieren, Index, PDF)"
    with i18n.language("en"):
        assert model.displayName() == "Council map workflow (aggregate, index, PDF)"
    copy = model.createInstance()
    assert copy.displayName() == model.displayName()
    assert {c.algorithmId() for c in copy.childAlgorithms().values()} == {
        "kommunalmonitor:aggregatetoareas", "kommunalmonitor:compositeindex", "kommunalmonitor:councilmap"}
