<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0" styleCategories="Symbology">
<pipe><rasterrenderer type="singlebandpseudocolor" band="1" opacity="1" alphaBand="-1" classificationMin="22" classificationMax="38"><rastershader><colorrampshader colorRampType="INTERPOLATED" classificationMode="1" clip="0"><item alpha="255" value="22" label="22 °C" color="#313695"/><item alpha="255" value="30" label="30 °C" color="#ffffbf"/><item alpha="255" value="38" label="38 °C" color="#a50026"/></colorrampshader></rastershader></rasterrenderer></pipe></qgis>
