<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1">
<context>
    <name>@default</name>
    <message>
        <location filename="../algorithms/align.py" line="22"/>
        <source>Align Sentinel-1 and Sentinel-2 time series</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/align.py" line="24"/>
        <source>Puts a Sentinel-1 and a Sentinel-2 time series on one grid and one time axis, as S4 pretraining does (paper section 5): both are resampled onto the Sentinel-2 grid, the shorter series is kept and each of its dates is paired with the nearest acquisition of the other sensor.&lt;br&gt;&lt;br&gt;&lt;b&gt;Sentinel-1 / Sentinel-2 layers&lt;/b&gt;: one GeoTIFF per acquisition (dates read from the files).&lt;br&gt;&lt;b&gt;Largest date gap&lt;/b&gt; (optional, days): drop pairs further apart.&lt;br&gt;&lt;b&gt;Largest cloud fraction&lt;/b&gt; (optional, 0..1): drop Sentinel-2 dates whose SCL band flags more clouds.&lt;br&gt;&lt;br&gt;Output folder: the aligned S1 and S2 stacks (multi-band GeoTIFFs, one band per date and band) and the date table (CSV).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/suggest.py" line="49"/>
        <source>Sentinel-1 layers (one per date)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/suggest.py" line="48"/>
        <source>Sentinel-2 layers (one per date)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="303"/>
        <source>Largest S1-S2 date gap (days)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="281"/>
        <source>Largest S2 cloud fraction (0..1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="159"/>
        <source>Output folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/align.py" line="42"/>
        <source>Aligned Sentinel-1 stack</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/align.py" line="43"/>
        <source>Aligned Sentinel-2 stack</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/align.py" line="44"/>
        <source>Date table (CSV)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/align.py" line="45"/>
        <source>Aligned dates</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/align.py" line="48"/>
        <source>Alignment needs both series: give Sentinel-1 layers (SENTINEL1 or a folder in SENTINEL1_FOLDER) and Sentinel-2 layers (SENTINEL2 or SENTINEL2_FOLDER) of the same area</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="269"/>
        <source>auto (CUDA GPU when available, else CPU)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="269"/>
        <source>cuda (NVIDIA GPU)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="65"/>
        <source>Prepare data</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="144"/>
        <source>Train</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="67"/>
        <source>Map</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="68"/>
        <source>Evaluate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="274"/>
        <source>Epochs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="275"/>
        <source>Crop size (pixels)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="277"/>
        <source>Batch size</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="272"/>
        <source>Random seed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="281"/>
        <source>{0}: or a folder of per-date GeoTIFFs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="269"/>
        <source>Compute device</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="285"/>
        <source>Network widths (comma-separated; default 16,32,64; reference 32,64,128)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="302"/>
        <source>WIDTHS must be two or more positive integers such as 32,64,128, not {text!r}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="320"/>
        <source>{name}_FOLDER: {folder} is not a folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="329"/>
        <source>{name}_FOLDER: {folder} holds no GeoTIFF (.tif): choose the folder with one file per date (e.g. the S1/ or S2/ folder written by the download step)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="360"/>
        <source>{name} must be a number, not {value!r}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="81"/>
        <source>Evaluate segmentation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/export.py" line="34"/>
        <source>S4 class raster</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="98"/>
        <source>Reference (polygons or class raster)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="105"/>
        <source>Class field of the reference polygons</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="129"/>
        <source>Overall accuracy</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="130"/>
        <source>Mean IoU</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="136"/>
        <source>REFERENCE: choose reference polygons or a class raster</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="142"/>
        <source>CLASS_FIELD: REFERENCE &apos;{0}&apos; is a vector layer: choose the field that holds its class names</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="151"/>
        <source>REFERENCE: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="156"/>
        <source>REFERENCE must be a vector or a raster layer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/export.py" line="46"/>
        <source>INPUT: choose an S4 class raster</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="202"/>
        <source>OUTPUT: the table could not be created</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/export.py" line="24"/>
        <source>Export segmentation as GeoPackage</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/export.py" line="26"/>
        <source>Turns an S4 class raster (output of 'S4 segment time series') into polygons: one polygon per connected patch of a class, with fields class_id, class_name and area_m2, styled by class (the style is stored in the GeoPackage).&lt;br&gt;&lt;br&gt;&lt;b&gt;Smallest polygon&lt;/b&gt;: patches smaller than this area (m²) are dropped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="298"/>
        <source>Smallest polygon kept (m²)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/segment.py" line="86"/>
        <source>Class polygons (GeoPackage)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/export.py" line="41"/>
        <source>Polygons written</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="32"/>
        <source>Earth Search (Element 84, AWS): Sentinel-2 L2A</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="33"/>
        <source>Microsoft Planetary Computer: Sentinel-2 L2A + Sentinel-1 RTC</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="34"/>
        <source>Copernicus Data Space (needs S4_CDSE_USER / S4_CDSE_PASSWORD)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="35"/>
        <source>Another STAC API (STAC_URL)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="41"/>
        <source>Download Sentinel-1/-2 time series (STAC)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="43"/>
        <source>Searches a STAC catalog for the Sentinel-2 L2A and Sentinel-1 acquisitions over an extent between two dates and downloads only that window of each Cloud-Optimised GeoTIFF, reprojected onto one grid (the extent&apos;s UTM zone at the chosen resolution). The output folder gets S2/ and S1/ with one GeoTIFF per date (same-day tiles mosaicked), ready for the other S4 algorithms, and manifest.json (items, asset URLs, cloud fractions).&lt;br&gt;&lt;br&gt;&lt;b&gt;Provider&lt;/b&gt;: Earth Search (Sentinel-2 only), Planetary Computer (Sentinel-2 and Sentinel-1 RTC backscatter, converted to dB), Copernicus Data Space (account in the environment variables S4_CDSE_USER / S4_CDSE_PASSWORD) or any STAC API URL.&lt;br&gt;&lt;b&gt;Collections&lt;/b&gt;: empty = the provider&apos;s default; &apos;none&apos; skips that sensor.&lt;br&gt;&lt;b&gt;Largest cloud fraction&lt;/b&gt; (optional, 0..1): Sentinel-2 dates with more clouds inside the extent (from the SCL band) are skipped before their bands are read.&lt;br&gt;&lt;br&gt;Running it again into the same folder resumes: finished dates are skipped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="60"/>
        <source>Extent (area to download)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="61"/>
        <source>First date</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="62"/>
        <source>Last date</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="63"/>
        <source>STAC provider</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="71"/>
        <source>STAC API URL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="74"/>
        <source>Sentinel-2 collection (empty: the provider&apos;s)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="79"/>
        <source>Sentinel-1 collection (empty: the provider&apos;s)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="542"/>
        <source>Largest S2 cloud fraction in the extent (0..1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="542"/>
        <source>Pixel size (m)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="85"/>
        <source>Add the series to the project (one group per sensor)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="91"/>
        <source>Sentinel-2 folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="92"/>
        <source>Sentinel-1 folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="93"/>
        <source>Manifest (JSON)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="94"/>
        <source>Sentinel-2 dates</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="95"/>
        <source>Sentinel-1 dates</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="111"/>
        <source>Give the STAC_URL of the STAC API to search</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="115"/>
        <source>EXTENT is empty: draw or choose the area to download</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="117"/>
        <source>EXTENT has no valid CRS</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="122"/>
        <source>{name} is not a valid date</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="411"/>
        <source>s2: Sentinel-2 (optical)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="411"/>
        <source>s1: Sentinel-1 (radar)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="411"/>
        <source>Pixel head on the frozen network (default: best maps from a few polygons)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="411"/>
        <source>3D U-Net fine-tuning (the paper&apos;s; uses epochs, crop and batch size)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="411"/>
        <source>As the pretrained model (monthly composites without one)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="411"/>
        <source>Monthly cloud-free composites</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="411"/>
        <source>The acquisitions as they are</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="411"/>
        <source>Balanced (inverse class frequency: favours small classes)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="411"/>
        <source>None (default; plain loss: better maps when polygon areas differ a lot)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/finetune.py" line="30"/>
        <source>{parameter}: choose the field of {layer_parameter} that holds the class names</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/finetune.py" line="37"/>
        <source>{parameter}: field &apos;{field}&apos; does not exist in layer &apos;{0}&apos; ({layer_parameter}); its fields are: {1}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/finetune.py" line="52"/>
        <source>S4 fine-tune on labelled polygons</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/finetune.py" line="54"/>
        <source>Trains an S4 model to map your classes from a few labelled polygons.&lt;br&gt;&lt;br&gt;&lt;b&gt;Sentinel-1 / Sentinel-2 layers&lt;/b&gt;: one GeoTIFF per acquisition; only the series of the inference modality is used (the model will map from that one sensor).&lt;br&gt;&lt;b&gt;Labels&lt;/b&gt;: polygons of known classes (a memory layer or a layer being edited is fine); &lt;b&gt;Class field&lt;/b&gt;: the field with the class names.&lt;br&gt;&lt;b&gt;Pretrained model&lt;/b&gt;: optional checkpoint from &apos;S4 pretrain&apos;; without one the network is trained from scratch (usually worse with few labels).&lt;br&gt;&lt;b&gt;Inference modality&lt;/b&gt;: s2 (optical) or s1 (radar).&lt;br&gt;&lt;b&gt;Head&lt;/b&gt; (advanced): the default keeps the pretrained network frozen and trains an ensemble of small per-pixel classifiers on each pixel&apos;s monthly series and the network&apos;s features, then smooths the map inside fields (seconds on a CPU; it beat a Random Forest on real sites, see docs/benchmarks.md). &apos;3D U-Net fine-tuning&apos; is the paper&apos;s recipe: &lt;b&gt;epochs, crop size, batch size&lt;/b&gt;, freezing the encoder and class weighting apply to it.&lt;br&gt;&lt;b&gt;Input&lt;/b&gt; (advanced): monthly cloud-free composites by default.&lt;br&gt;&lt;b&gt;Map resolution&lt;/b&gt; (advanced): pixel size in the layers&apos; CRS units (0 = the imagery&apos;s own grid); &apos;S4 segment&apos; maps on the same resolution.&lt;br&gt;A share of the polygons is held out to report a validation mIoU.&lt;br&gt;&lt;br&gt;Output: the fine-tuned checkpoint (.pt) for &apos;S4 segment time series&apos;. The loss and the validation mIoU are logged per epoch; Cancel stops cleanly.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/profiles.py" line="46"/>
        <source>Labelled polygons</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="335"/>
        <source>Class field</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="411"/>
        <source>Pretrained model (optional; none = train from scratch)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="411"/>
        <source>Inference modality</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="411"/>
        <source>Head</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="411"/>
        <source>Input</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="295"/>
        <source>Map resolution (CRS units; 0 = the imagery&apos;s)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="411"/>
        <source>Freeze the pretrained encoder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="411"/>
        <source>Class weighting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="411"/>
        <source>Share of polygons held out for validation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/finetune.py" line="89"/>
        <source>Fine-tuned checkpoint</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/finetune.py" line="94"/>
        <source>Validation mIoU</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/finetune.py" line="95"/>
        <source>Class names (comma separated)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/profiles.py" line="70"/>
        <source>LABELS: choose a polygon layer with labelled polygons</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/finetune.py" line="118"/>
        <source>LABELS: layer &apos;{0}&apos; has no polygons: digitise a few polygons of each class first</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/suggest.py" line="76"/>
        <source>LABELS: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/finetune.py" line="146"/>
        <source>Inference modality is {0} but no {1} layers were given: add them to {name} or change MODALITY</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/finetune.py" line="152"/>
        <source>INIT_MODEL: checkpoint file not found: {init}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/pretrain.py" line="34"/>
        <source>S4 pretrain (self-supervised, S1 + S2)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="307"/>
        <source>Training steps per epoch (default: as many as the scene&apos;s crops)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="289"/>
        <source>Input: cloud-free composites of N months (0 = the acquisitions as they are)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/pretrain.py" line="59"/>
        <source>Pretrained checkpoint</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/pretrain.py" line="64"/>
        <source>Loss of the last epoch</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/pretrain.py" line="81"/>
        <source>Pretraining needs both series: give Sentinel-1 layers (SENTINEL1 or a folder in SENTINEL1_FOLDER) and Sentinel-2 layers (SENTINEL2 or SENTINEL2_FOLDER) of the same area</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/segment.py" line="42"/>
        <source>{parameter} must be a {kind} file ({0}), not {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/segment.py" line="51"/>
        <source>S4 segment time series</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/suggest.py" line="43"/>
        <source>Fine-tuned S4 model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/segment.py" line="83"/>
        <source>Extent to map</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="469"/>
        <source>Tiles per batch</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="469"/>
        <source>Resolution (CRS units; 0 = the one the model was fine-tuned on)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/segment.py" line="85"/>
        <source>Class raster</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/segment.py" line="107"/>
        <source>No input layers: give the Sentinel-2 (SENTINEL2) or Sentinel-1 (SENTINEL1) layers of the modality the model was fine-tuned for</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="52"/>
        <source>S4 — Python dependencies</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="71"/>
        <source>Package</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="71"/>
        <source>Version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="71"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="71"/>
        <source>Location</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="81"/>
        <source>CPU only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="84"/>
        <source>NVIDIA GPU, CUDA {0}.{1}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="108"/>
        <source>torch build:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="110"/>
        <source>QGIS&apos;s Python:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="111"/>
        <source>Install into:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="112"/>
        <source>Packages:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="113"/>
        <source>Never replaced:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="126"/>
        <source>Install</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="127"/>
        <source>Cancel install</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="180"/>
        <source> (torch from {0})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="191"/>
        <source> + {rest} more</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="205"/>
        <source>Installing… (torch is large: this can take several minutes)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="222"/>
        <source>Cancelling: stopping pip…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="235"/>
        <source>&lt;b&gt;Installed. Restart QGIS to use S4.&lt;/b&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="237"/>
        <source>&lt;b&gt;Installed. S4&apos;s algorithms are ready.&lt;/b&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="241"/>
        <source>Cancelled: nothing was changed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/diagnostics_dialog.py" line="97"/>
        <source>S4 {__version__} — about and diagnostics</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/diagnostics_dialog.py" line="101"/>
        <source>&lt;b&gt;S4 {__version__}&lt;/b&gt;: self-supervised segmentation of Sentinel-1/-2 image time series (Shenoy et al., &lt;i&gt;Remote Sensing&lt;/i&gt; 2024). Algorithms: Processing Toolbox &amp;gt; S4. Please attach this report to bug reports.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/diagnostics_dialog.py" line="114"/>
        <source>Copy to clipboard</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin.py" line="51"/>
        <source>Dependencies…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/diagnostics_dialog.py" line="130"/>
        <source>Copied</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="143"/>
        <source>Data</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="395"/>
        <source>Segment</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="681"/>
        <source>Model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="158"/>
        <source>Fine-tuned models and class maps are written here</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="163"/>
        <source>Check</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="164"/>
        <source>Which device will the engine use?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="168"/>
        <source>Device</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="176"/>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="182"/>
        <source>Ready</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="188"/>
        <source>Log</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="195"/>
        <source>Sentinel-2 (optical) layers of the project, by date:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="198"/>
        <source>Sentinel-1 (radar) layers of the project, by date:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="204"/>
        <source>Refresh</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="206"/>
        <source>Check all</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="208"/>
        <source>Uncheck all</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="213"/>
        <source>Download S1 + S2 for the map extent…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="214"/>
        <source>Search a STAC catalog and download the Sentinel-1 and Sentinel-2 series of the current map extent (Processing: Download Sentinel-1/-2 time series); the series are added to the project</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="223"/>
        <source>Add one GeoTIFF per acquisition to the project (Layer &gt; Add Raster Layer); checked layers are used for fine-tuning and segmentation.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="279"/>
        <source>Cannot open the download dialog: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="312"/>
        <source>e.g. wheat, maize, potatoes, grassland</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="313"/>
        <source>From model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="314"/>
        <source>Use the class names of the loaded model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="318"/>
        <source>Classes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="319"/>
        <source>New label layer…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="320"/>
        <source>Create a GeoPackage polygon layer whose form offers the classes, add it to the project and start digitising</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="334"/>
        <source>Label layer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1268"/>
        <source>S4 checkpoint (*.pt)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="338"/>
        <source>Pretrained checkpoint to start from; empty = from scratch</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="339"/>
        <source>Start from</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="341"/>
        <source>Map from</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="343"/>
        <source>Pixel head (default): the pretrained network stays frozen; small per-pixel classifiers learn from each pixel&apos;s monthly series and the network&apos;s features, and the map is smoothed inside fields (seconds on a CPU). 3D U-Net: the paper&apos;s fine-tuning of the whole network (epochs, crop and batch size apply to it).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="355"/>
        <source>Epochs (3D U-Net)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="358"/>
        <source>Few polygons of unequal size</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="359"/>
        <source>3D U-Net head: freeze the pretrained encoder and use an unweighted loss (the default weighting): with a handful of polygons of very different areas this maps unseen fields better</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="367"/>
        <source>Fine-tune</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="376"/>
        <source>Current map extent</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="376"/>
        <source>Extent of a layer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="376"/>
        <source>Whole scene</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="383"/>
        <source>Area</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="384"/>
        <source>Layer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="389"/>
        <source>Also write class polygons (GeoPackage)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="394"/>
        <source>Smallest polygon</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="421"/>
        <source>No model loaded</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="424"/>
        <source>Load…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="426"/>
        <source>Save as…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="428"/>
        <source>Info</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="576"/>
        <source>{0}
bands: {1}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="691"/>
        <source>Load a fine-tuned model first (Model tab) to use its class names</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="708"/>
        <source>Type the class names first (comma separated) or load a model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="712"/>
        <source>New S4 label layer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="712"/>
        <source>GeoPackage (*.gpkg)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="742"/>
        <source>Label layer {path} created with classes {0}: digitise polygons, pick their class in the form, then Fine-tune</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="811"/>
        <source>Cancelling…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1157"/>
        <source>S4 is busy: wait for the running task or cancel it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1056"/>
        <source>Choose a label layer (Train tab) or create one with 'New label layer…'</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1060"/>
        <source>Choose the class field of &apos;{0}&apos; (Train tab)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1063"/>
        <source>&apos;{0}&apos; has no polygons yet: digitise a few of each class</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="917"/>
        <source>Fine-tuning on {0} {1} dates and &apos;{2}&apos; ({3}) from {4}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="921"/>
        <source>Fine-tuning on {0} {1} dates and &apos;{2}&apos; ({3}) from scratch</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="953"/>
        <source>Fine-tuning failed: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1161"/>
        <source>Load a fine-tuned model first (Model tab), or fine-tune one</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1013"/>
        <source>Segmenting with {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1021"/>
        <source>Segmentation cancelled; nothing was written</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1025"/>
        <source>Segmentation failed: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1033"/>
        <source>S4 classes ({model})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1038"/>
        <source>Could not open the class map {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1040"/>
        <source>S4 class polygons ({model})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1247"/>
        <source>Load S4 model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1253"/>
        <source>Model file not found: {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1259"/>
        <source>Model loaded: {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1265"/>
        <source>No model to save: load or fine-tune one first</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1268"/>
        <source>Save S4 model as</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1284"/>
        <source>Could not save the model as {path}: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1290"/>
        <source>Model saved as {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1341"/>
        <source>device: {text}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin.py" line="44"/>
        <source>About / diagnostics…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin.py" line="46"/>
        <source>S4: segment Sentinel-1/-2 time series with few labels</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin.py" line="53"/>
        <source>Install PyTorch and the engine&apos;s other Python packages</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin.py" line="69"/>
        <source>needs PyTorch, which QGIS&apos;s Python does not have yet. Install it now?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin.py" line="72"/>
        <source>Install dependencies…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin.py" line="87"/>
        <source>S4 panel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="962"/>
        <source>Choose the layer whose extent to map (Segment tab)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="968"/>
        <source>The chosen extent is empty: zoom to the scene or pick another area</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../layers.py" line="78"/>
        <source>{where}layer &apos;{0}&apos; is not a local raster file ({1}); S4 reads GeoTIFFs from disk: save the layer as GeoTIFF (Export &gt; Save As) first</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../layers.py" line="245"/>
        <source>could not write layer &apos;{0}&apos; to {out_path}: {message}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../layers.py" line="288"/>
        <source>layer &apos;{0}&apos; has no field &apos;{field_name}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../layers.py" line="324"/>
        <source>could not create {path}: {message}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../layers.py" line="328"/>
        <source>could not open the new label layer {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../provider.py" line="28"/>
        <source>S4 Sentinel time-series segmentation {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../styling.py" line="129"/>
        <source>could not export the style of {0}: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../styling.py" line="227"/>
        <source>could not store the style in {0}: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../styling.py" line="236"/>
        <source>could not open the class raster {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../styling.py" line="244"/>
        <source>could not open the polygons {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="191"/>
        <source>(none found)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="83"/>
        <source>Compares an S4 class raster with reference data: overall accuracy (OA), mean intersection over union (mIoU), IoU per class and the confusion matrix.&lt;br&gt;&lt;br&gt;&lt;b&gt;Class raster&lt;/b&gt;: output of &apos;S4 segment time series&apos;.&lt;br&gt;&lt;b&gt;Reference&lt;/b&gt;: polygons with a class-name field (give &lt;b&gt;Class field&lt;/b&gt;) or a class raster; classes are matched by name.&lt;br&gt;&lt;br&gt;Outputs: OA and mIoU, and a table with one row per reference class: class_name, iou, support (reference pixels), then the confusion-matrix counts, one column per predicted class (pred_&amp;lt;class&amp;gt;); the confusion matrix as a figure (PNG or SVG; optional) and an HTML report (scores, per-class IoU, the matrix with its figure) that QGIS shows in the results viewer.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="118"/>
        <source>Confusion matrix figure (PNG or SVG)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="124"/>
        <source>Evaluation report (HTML)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="238"/>
        <source>OUTPUT_FIGURE must be a .png, .svg or .pdf file, not {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/profiles.py" line="27"/>
        <source>Class profiles (NDVI, VV, VH over time)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/profiles.py" line="29"/>
        <source>Per class of a label layer, the mean and spread (one standard deviation over the class&apos;s pixels) over time of NDVI (Sentinel-2, or the red-edge NDRE without B04; clouds, shadows and no data masked with the SCL band: classes 0 1 3 8 9 10) and of VV / VH (Sentinel-1, dB). Shows whether the classes differ at all, and which polygons do not look like their class.&lt;br&gt;&lt;br&gt;&lt;b&gt;Outliers&lt;/b&gt;: every date is scaled by the usual within-class spread; a polygon is flagged when its profile is at most half as far from another class&apos;s mean as from the mean of the other polygons of its class, or further than THRESHOLD spreads from it.&lt;br&gt;&lt;br&gt;Outputs: the numbers as CSV (kind, class, polygon, variable, date, mean, std, n: one row per class or polygon, variable and date; polygons numbered from 0 in the layer&apos;s order) and a figure (PNG, SVG or PDF).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/profiles.py" line="55"/>
        <source>Profiles (CSV)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/profiles.py" line="60"/>
        <source>Profiles figure (PNG or SVG)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/profiles.py" line="65"/>
        <source>Outlier polygons</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/profiles.py" line="76"/>
        <source>LABELS: layer &apos;{0}&apos; has no polygons</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/profiles.py" line="91"/>
        <source>No input layers: give the Sentinel-2 (SENTINEL2) and/or Sentinel-1 (SENTINEL1) layers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/suggest.py" line="27"/>
        <source>Where to label next (least confident squares)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/suggest.py" line="29"/>
        <source>Proposes small squares (5 x 5 pixels, like an analyst&apos;s label squares) where a fine-tuned S4 model is least sure of the class, spread over the area and over the predicted classes, away from the existing labels. Label them (copy a square into the label layer with its class) and fine-tune again: a few well-placed squares teach the model more than squares where it is already right.&lt;br&gt;&lt;br&gt;&lt;b&gt;Labels&lt;/b&gt; (optional): the polygons already labelled; no square touches them.&lt;br&gt;Squares lie inside one predicted class (not across field borders). The same inputs and SEED give the same squares.&lt;br&gt;&lt;br&gt;Output: a polygon layer with fields rank (1 = least sure), uncertainty, predicted, confidence and an empty label field.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/suggest.py" line="50"/>
        <source>Existing labels (avoided)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/suggest.py" line="55"/>
        <source>Extent</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/suggest.py" line="57"/>
        <source>Squares to label next</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/suggest.py" line="62"/>
        <source>Squares proposed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/suggest.py" line="70"/>
        <source>LABELS: not a valid polygon layer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/suggest.py" line="88"/>
        <source>MODEL: checkpoint file not found: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/suggest.py" line="94"/>
        <source>No input layers: give the layers of the modality the model was fine-tuned for</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="150"/>
        <source>Profiles</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="152"/>
        <source>Curves</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="401"/>
        <source>Number of 5 x 5 px squares to propose</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="402"/>
        <source>Where to label next</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="403"/>
        <source>Propose small squares where the model is least sure, spread over the area and the predicted classes, away from the label layer&apos;s polygons: label them and fine-tune again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="413"/>
        <source>Suggest</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1080"/>
        <source>No Sentinel-2 or Sentinel-1 layers checked (Data tab)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1102"/>
        <source>S4 class profiles</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1103"/>
        <source>Class profiles of &apos;{0}&apos; ({1})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1109"/>
        <source>Class profiles failed: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1117"/>
        <source>Class profiles of {0} classes; {1} outlier polygon(s)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1168"/>
        <source>No layers checked (Data tab) for this model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1213"/>
        <source>S4 where to label next</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1203"/>
        <source>Looking for where {0} is least sure</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1209"/>
        <source>Suggestions failed: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1217"/>
        <source>Could not open the suggestions {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1220"/>
        <source>No square to suggest: every valid place is labelled already or lies on a class border; label fewer areas or map a larger extent</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1231"/>
        <source>{0} squares to label added ({1}): label them in the label layer and fine-tune again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1320"/>
        <source>Training curves ({0} epochs recorded)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plots.py" line="40"/>
        <source>Plots need matplotlib ({error}): on Debian/Ubuntu install python3-matplotlib; QGIS on Windows and macOS includes it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plots.py" line="96"/>
        <source>Class profiles</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plots.py" line="97"/>
        <source>NDVI (Sentinel-2, cloud-masked) and VV / VH (Sentinel-1, dB) over time per class of the label layer (Train tab), from the checked layers; polygons whose profile sits far from their class are listed below</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plots.py" line="104"/>
        <source>Show selected polygons</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plots.py" line="111"/>
        <source>Outlier polygons (click to zoom):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plots.py" line="134"/>
        <source>feature {0} ({1}): {2}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plots.py" line="140"/>
        <source>none: every polygon&apos;s profile is near its class</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="512"/>
        <source>Outlier threshold (within-class spreads)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="512"/>
        <source>Outlier ratio (distance to another class / to its own)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="524"/>
        <source>Number of squares</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="524"/>
        <source>Square side (pixels)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="524"/>
        <source>Uncertainty</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="524"/>
        <source>Margin (gap between the two most probable classes)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="524"/>
        <source>Entropy of the class probabilities</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="524"/>
        <source>Random seed (ties)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="937"/>
        <source>Fine-tuned model saved: {0} (validation mIoU {1})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="1049"/>
        <source>Class map added: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/pretrain.py" line="36"/>
        <source>Pretrains an S4 model WITHOUT labels on a Sentinel-1 and a Sentinel-2 time series of the same area (Shenoy et al., Remote Sensing 2024): a 3D U-Net learns that radar and optical pixels at the same place and time belong together (pixel-wise space-time contrastive loss) and to reconstruct one modality from the other.&lt;br&gt;&lt;br&gt;&lt;b&gt;Sentinel-1 / Sentinel-2 layers&lt;/b&gt;: one GeoTIFF per acquisition (dates read from the files); they are aligned in space (onto the Sentinel-2 grid) and time automatically.&lt;br&gt;&lt;b&gt;Epochs, crop size, batch size&lt;/b&gt;: training length and the size of the random crops; small crops and batches need less memory.&lt;br&gt;&lt;b&gt;Seed&lt;/b&gt;: makes runs repeatable.&lt;br&gt;&lt;b&gt;Objective&lt;/b&gt;: S4 (default, both sensors), MAE or DINO on one sensor (only that series is needed: &lt;i&gt;Sensor for MAE / DINO&lt;/i&gt;), or a joint S1 + S2 masked autoencoder; every objective trains the same network, so fine-tuning and mapping work the same way. Masking (share, patch size in pixels and frames, mode) is in the advanced parameters.&lt;br&gt;&lt;br&gt;Output: a pretrained checkpoint (.pt) to start &apos;S4 fine-tune on labelled polygons&apos; from. Progress and the loss per epoch are logged; Cancel stops cleanly.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/pretrain.py" line="73"/>
        <source>{objective} pretraining on {sensor} needs {sensor} layers: give them (SENTINEL{n} or SENTINEL{n}_FOLDER) or choose the other sensor (SSL_MODALITY)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="267"/>
        <source>Cannot open the pretraining dialog: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="288"/>
        <source>Self-supervised pretraining without labels on the checked layers: S4 (radar + optical), MAE or DINO on radar alone, or a joint radar-optical masked autoencoder. Its checkpoint goes into &apos;Start from&apos; below.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="305"/>
        <source>Pretrain…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="309"/>
        <source>Pretrain (no labels)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="307"/>
        <source>Objective</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="307"/>
        <source>S4: radar-optical contrastive + cross reconstruction (S1 + S2; default)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="307"/>
        <source>MAE: masked autoencoding of one sensor (radar by default)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="307"/>
        <source>DINO: self-distillation on one sensor (radar by default)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="307"/>
        <source>Joint MAE: S1 + S2 masked together, both reconstructed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="307"/>
        <source>Sensor for MAE / DINO</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="307"/>
        <source>MAE / joint MAE: share of patches hidden</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="307"/>
        <source>MAE / joint MAE: patch size (pixels)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="307"/>
        <source>MAE / joint MAE: patch length (frames)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="307"/>
        <source>Joint MAE: mask mode</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="307"/>
        <source>Random (independent per sensor)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="307"/>
        <source>Complementary (hidden in one sensor = visible in the other)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="307"/>
        <source>Identical (the same patches in both)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="307"/>
        <source>DINO: views per crop</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="145"/>
        <source>Warning: {0}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="379"/>
        <source>{name} ({label}) must be {rule}, got {value}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="384"/>
        <source>{name}: {path} cannot be read as a layer (not a file QGIS can open, damaged, or no permission to read it): choose another file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="388"/>
        <source>{name}: {path} does not exist</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="389"/>
        <source>{name} ({label}): {value!r} is not a valid value</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="207"/>
        <source>OUTPUT: could not write the table {dest}: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="207"/>
        <source>unknown error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="214"/>
        <source>OUTPUT: the table {dest} was not written: choose a writable folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/finetune.py" line="104"/>
        <source>LABELS: {path} cannot be read as a polygon layer (not a file QGIS can open, damaged, or not readable: {access}): choose a GeoPackage, shapefile or GeoJSON with labelled polygons</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/finetune.py" line="104"/>
        <source>readable</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/finetune.py" line="104"/>
        <source>no permission</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/segment.py" line="53"/>
        <source>Maps crop / land-cover classes over a scene from a Sentinel-2 or a Sentinel-1 image time series with a fine-tuned S4 model.&lt;br&gt;&lt;br&gt;&lt;b&gt;Sentinel-2 / Sentinel-1 layers&lt;/b&gt;: one GeoTIFF per acquisition; the acquisition date and the sensor are read from each file (tag ACQUISITION_DATETIME or YYYYMMDD in the name, band names). Give the series of the modality the model was fine-tuned for (the model runs on ONE modality).&lt;br&gt;&lt;b&gt;Model&lt;/b&gt;: a fine-tuned checkpoint (.pt) from &apos;S4 fine-tune on labelled polygons&apos; (needs PyTorch), or its ONNX export (.onnx, from &apos;s4 export-onnx&apos;), which needs only ONNX Runtime.&lt;br&gt;&lt;b&gt;Extent&lt;/b&gt;: optional part of the scene to map (default: the whole series).&lt;br&gt;&lt;b&gt;Tile size / overlap&lt;/b&gt;: the scene is predicted in overlapping tiles; 0 / -1 = automatic (overlap twice the network&apos;s receptive radius, so results equal one whole-scene pass; tiles as large as ~1 GB of activations allows); reduce the tile size when the GPU runs out of memory.&lt;br&gt;&lt;br&gt;Output: a class raster (GeoTIFF, 255 = nodata) styled with class names and colours (style saved beside it as .qml) and, optionally, class polygons in a GeoPackage (fields class_id, class_name, area_m2; style stored in the GeoPackage) and the confidence (band 1: the largest class probability, band 2: its margin over the second class; styled red = unsure to green = sure).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/segment.py" line="94"/>
        <source>Confidence (largest class probability, margin)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/segment.py" line="115"/>
        <source>MODEL: model file not found: {0}; choose the .pt file written by &apos;S4 fine-tune on labelled polygons&apos; or its .onnx export</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../algorithms/segment.py" line="138"/>
        <source>Device: cpu (ONNX Runtime)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="59"/>
        <source>S4's engine needs numpy, rasterio and fiona in QGIS's own Python, and &lt;b&gt;PyTorch&lt;/b&gt; to train (and map with .pt checkpoints) or only &lt;b&gt;ONNX Runtime&lt;/b&gt; to map with an ONNX export of a model (s4 export-onnx). Missing packages are installed with pip into a folder of your QGIS profile; the packages QGIS ships (numpy, GDAL, PyQt…) are pinned and never replaced.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="76"/>
        <source>training (PyTorch, CPU or CUDA)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="77"/>
        <source>mapping only (ONNX Runtime)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="107"/>
        <source>Install for:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../styling.py" line="189"/>
        <source>could not open the confidence raster {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="469"/>
        <source>Tile size (pixels; 0 = automatic)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="469"/>
        <source>Tile overlap (pixels; -1 = automatic)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="296"/>
        <source>Pretrain</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="297"/>
        <source>Pretrain here with the defaults of s4:pretrain and this objective; the loss is drawn live in the Curves tab</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="306"/>
        <source>Every pretraining option, in the algorithm&apos;s dialog</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="852"/>
        <source>Pretraining ({0}) on the checked layers, no labels</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="864"/>
        <source>Pretrained model saved: {0} (set as &apos;Start from&apos;)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="870"/>
        <source>Pretraining cancelled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../dock.py" line="872"/>
        <source>Pretraining failed: {error}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
