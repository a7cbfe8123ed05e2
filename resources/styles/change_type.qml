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
      <resampling zoomedOutResamplingMethod="nearestNeighbour" enabled="false" zoomedInResamplingMethod="nearestNeighbour" maxOversampling="2"/>
    </provider>
    <rasterrenderer type="paletted" alphaBand="-1" nodataColor="" band="1" opacity="1">
      <minMaxOrigin>
        <limits>None</limits>
        <extent>WholeRaster</extent>
        <statAccuracy>Estimated</statAccuracy>
        <cumulativeCutLower>0.02</cumulativeCutLower>
        <cumulativeCutUpper>0.98</cumulativeCutUpper>
        <stdDevFactor>2</stdDevFactor>
      </minMaxOrigin>
      <colorPalette>
        <paletteEntry alpha="0" value="0" label="no change" color="#000000"/>
        <paletteEntry alpha="190" value="1" label="water → water" color="#00477a"/>
        <paletteEntry alpha="190" value="2" label="water → non-vegetated ground surface" color="#7a3d00"/>
        <paletteEntry alpha="190" value="3" label="water → low vegetation" color="#7a7600"/>
        <paletteEntry alpha="190" value="4" label="water → tree" color="#007a29"/>
        <paletteEntry alpha="190" value="5" label="water → building" color="#7a0000"/>
        <paletteEntry alpha="190" value="6" label="water → playground" color="#7a007a"/>
        <paletteEntry alpha="190" value="7" label="non-vegetated ground surface → water" color="#355f7c"/>
        <paletteEntry alpha="190" value="8" label="non-vegetated ground surface → non-vegetated ground surface" color="#7c5935"/>
        <paletteEntry alpha="190" value="9" label="non-vegetated ground surface → low vegetation" color="#7c7a35"/>
        <paletteEntry alpha="190" value="10" label="non-vegetated ground surface → tree" color="#357c4d"/>
        <paletteEntry alpha="190" value="11" label="non-vegetated ground surface → building" color="#7c3535"/>
        <paletteEntry alpha="190" value="12" label="non-vegetated ground surface → playground" color="#7c357c"/>
        <paletteEntry alpha="190" value="13" label="low vegetation → water" color="#0088e9"/>
        <paletteEntry alpha="190" value="14" label="low vegetation → non-vegetated ground surface" color="#e97400"/>
        <paletteEntry alpha="190" value="15" label="low vegetation → low vegetation" color="#e9e100"/>
        <paletteEntry alpha="190" value="16" label="low vegetation → tree" color="#00e94e"/>
        <paletteEntry alpha="190" value="17" label="low vegetation → building" color="#e90000"/>
        <paletteEntry alpha="190" value="18" label="low vegetation → playground" color="#e900e9"/>
        <paletteEntry alpha="190" value="19" label="tree → water" color="#6397bc"/>
        <paletteEntry alpha="190" value="20" label="tree → non-vegetated ground surface" color="#bc9063"/>
        <paletteEntry alpha="190" value="21" label="tree → low vegetation" color="#bcb963"/>
        <paletteEntry alpha="190" value="22" label="tree → tree" color="#63bc81"/>
        <paletteEntry alpha="190" value="23" label="tree → building" color="#bc6363"/>
        <paletteEntry alpha="190" value="24" label="tree → playground" color="#bc63bc"/>
        <paletteEntry alpha="190" value="25" label="building → water" color="#58b9ff"/>
        <paletteEntry alpha="190" value="26" label="building → non-vegetated ground surface" color="#ffab58"/>
        <paletteEntry alpha="190" value="27" label="building → low vegetation" color="#fff958"/>
        <paletteEntry alpha="190" value="28" label="building → tree" color="#58ff8f"/>
        <paletteEntry alpha="190" value="29" label="building → building" color="#ff5858"/>
        <paletteEntry alpha="190" value="30" label="building → playground" color="#ff58ff"/>
        <paletteEntry alpha="190" value="31" label="playground → water" color="#b0cbdd"/>
        <paletteEntry alpha="190" value="32" label="playground → non-vegetated ground surface" color="#ddc7b0"/>
        <paletteEntry alpha="190" value="33" label="playground → low vegetation" color="#dddcb0"/>
        <paletteEntry alpha="190" value="34" label="playground → tree" color="#b0ddbf"/>
        <paletteEntry alpha="190" value="35" label="playground → building" color="#ddb0b0"/>
        <paletteEntry alpha="190" value="36" label="playground → playground" color="#ddb0dd"/>
      </colorPalette>
    </rasterrenderer>
    <brightnesscontrast gamma="1" brightness="0" contrast="0"/>
    <huesaturation grayscaleMode="0" colorizeRed="255" colorizeOn="0" colorizeGreen="128" colorizeBlue="128" saturation="0" invertColors="0" colorizeStrength="100"/>
    <rasterresampler maxOversampling="2"/>
    <resamplingStage>resamplingFilter</resamplingStage>
  </pipe>
  <blendMode>0</blendMode>
</qgis>
