<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0" styleCategories="Symbology">
<pipe><rasterrenderer type="singlebandpseudocolor" band="1" opacity="1" alphaBand="-1" classificationMin="0" classificationMax="1"><rastershader><colorrampshader colorRampType="INTERPOLATED" classificationMode="1" clip="0"><item alpha="255" value="0" label="0 " color="#f7fcf5"/><item alpha="255" value="0.5" label="0.5 " color="#74c476"/><item alpha="255" value="1" label="1 " color="#00441b"/></colorrampshader></rastershader></rasterrenderer></pipe></qgis>
