<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis styleCategories="Symbology" version="3.22.16-Białowieża">
  <pipe-data-defined-properties>
    <Option type="Map">
      <Option type="QString" value="" name="name"/>
      <Option name="properties"/>
      <Option type="QString" value="collection" name="type"/>
    </Option>
  </pipe-data-defined-properties>
  <pipe>
    <provider>
      <resampling enabled="false" zoomedOutResamplingMethod="nearestNeighbour" maxOversampling="2" zoomedInResamplingMethod="nearestNeighbour"/>
    </provider>
    <rasterrenderer band="1" type="paletted" alphaBand="-1" nodataColor="" opacity="1">
      <minMaxOrigin>
        <limits>None</limits>
        <extent>WholeRaster</extent>
        <statAccuracy>Estimated</statAccuracy>
        <cumulativeCutLower>0.02</cumulativeCutLower>
        <cumulativeCutUpper>0.98</cumulativeCutUpper>
        <stdDevFactor>2</stdDevFactor>
      </minMaxOrigin>
      <colorPalette>
        <paletteEntry color="#000000" alpha="0" value="0" label="no change"/>
        <paletteEntry color="#085891" alpha="190" value="1" label="water → water"/>
        <paletteEntry color="#914c08" alpha="190" value="2" label="water → non-vegetated ground surface"/>
        <paletteEntry color="#918d08" alpha="190" value="3" label="water → low vegetation"/>
        <paletteEntry color="#089136" alpha="190" value="4" label="water → tree"/>
        <paletteEntry color="#910808" alpha="190" value="5" label="water → building"/>
        <paletteEntry color="#910891" alpha="190" value="6" label="water → playground"/>
        <paletteEntry color="#0a72bd" alpha="190" value="7" label="non-vegetated ground surface → water"/>
        <paletteEntry color="#bd630a" alpha="190" value="8" label="non-vegetated ground surface → non-vegetated ground surface"/>
        <paletteEntry color="#bdb70a" alpha="190" value="9" label="non-vegetated ground surface → low vegetation"/>
        <paletteEntry color="#0abd46" alpha="190" value="10" label="non-vegetated ground surface → tree"/>
        <paletteEntry color="#bd0a0a" alpha="190" value="11" label="non-vegetated ground surface → building"/>
        <paletteEntry color="#bd0abd" alpha="190" value="12" label="non-vegetated ground surface → playground"/>
        <paletteEntry color="#0c8de9" alpha="190" value="13" label="low vegetation → water"/>
        <paletteEntry color="#e97a0c" alpha="190" value="14" label="low vegetation → non-vegetated ground surface"/>
        <paletteEntry color="#e9e10c" alpha="190" value="15" label="low vegetation → low vegetation"/>
        <paletteEntry color="#0ce956" alpha="190" value="16" label="low vegetation → tree"/>
        <paletteEntry color="#e90c0c" alpha="190" value="17" label="low vegetation → building"/>
        <paletteEntry color="#e90ce9" alpha="190" value="18" label="low vegetation → playground"/>
        <paletteEntry color="#2fa2f4" alpha="190" value="19" label="tree → water"/>
        <paletteEntry color="#f4912f" alpha="190" value="20" label="tree → non-vegetated ground surface"/>
        <paletteEntry color="#f4ed2f" alpha="190" value="21" label="tree → low vegetation"/>
        <paletteEntry color="#2ff470" alpha="190" value="22" label="tree → tree"/>
        <paletteEntry color="#f42f2f" alpha="190" value="23" label="tree → building"/>
        <paletteEntry color="#f42ff4" alpha="190" value="24" label="tree → playground"/>
        <paletteEntry color="#5ab5f6" alpha="190" value="25" label="building → water"/>
        <paletteEntry color="#f6a85a" alpha="190" value="26" label="building → non-vegetated ground surface"/>
        <paletteEntry color="#f6f15a" alpha="190" value="27" label="building → low vegetation"/>
        <paletteEntry color="#5af68e" alpha="190" value="28" label="building → tree"/>
        <paletteEntry color="#f65a5a" alpha="190" value="29" label="building → building"/>
        <paletteEntry color="#f65af6" alpha="190" value="30" label="building → playground"/>
        <paletteEntry color="#86c9f9" alpha="190" value="31" label="playground → water"/>
        <paletteEntry color="#f9bf86" alpha="190" value="32" label="playground → non-vegetated ground surface"/>
        <paletteEntry color="#f9f586" alpha="190" value="33" label="playground → low vegetation"/>
        <paletteEntry color="#86f9ac" alpha="190" value="34" label="playground → tree"/>
        <paletteEntry color="#f98686" alpha="190" value="35" label="playground → building"/>
        <paletteEntry color="#f986f9" alpha="190" value="36" label="playground → playground"/>
      </colorPalette>
    </rasterrenderer>
    <brightnesscontrast gamma="1" brightness="0" contrast="0"/>
    <huesaturation invertColors="0" grayscaleMode="0" colorizeGreen="128" colorizeOn="0" colorizeStrength="100" saturation="0" colorizeBlue="128" colorizeRed="255"/>
    <rasterresampler maxOversampling="2"/>
    <resamplingStage>resamplingFilter</resamplingStage>
  </pipe>
  <blendMode>0</blendMode>
</qgis>
