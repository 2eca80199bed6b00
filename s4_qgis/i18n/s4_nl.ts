<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="nl_NL" sourcelanguage="en">
<context>
    <name>@default</name>
    <message>
        <location filename="../algorithms/align.py" line="26"/>
        <source>Align Sentinel-1 and Sentinel-2 time series</source>
        <translation>Sentinel-1- en Sentinel-2-tijdreeksen uitlijnen</translation>
    </message>
    <message>
        <location filename="../algorithms/align.py" line="29"/>
        <source>Puts a Sentinel-1 and a Sentinel-2 time series on one grid and one time axis, as S4 pretraining does (paper section 5): both are resampled onto the Sentinel-2 grid, the shorter series is kept and each of its dates is paired with the nearest acquisition of the other sensor.&lt;br&gt;&lt;br&gt;&lt;b&gt;Sentinel-1 / Sentinel-2 layers&lt;/b&gt;: one GeoTIFF per acquisition (dates read from the files).&lt;br&gt;&lt;b&gt;Largest date gap&lt;/b&gt; (optional, days): drop pairs further apart.&lt;br&gt;&lt;b&gt;Largest cloud fraction&lt;/b&gt; (optional, 0..1): drop Sentinel-2 dates whose SCL band flags more clouds.&lt;br&gt;&lt;br&gt;Output folder: the aligned S1 and S2 stacks (multi-band GeoTIFFs, one band per date and band) and the date table (CSV).</source>
        <translation>Brengt een Sentinel-1- en een Sentinel-2-tijdreeks op één raster en één tijdas, zoals S4 bij het voortrainen doet (artikel, sectie 5): beide worden herbemonsterd op het Sentinel-2-raster, de kortste reeks wordt behouden en elk van haar datums wordt gekoppeld aan de dichtstbijzijnde opname van de andere sensor.&lt;br&gt;&lt;br&gt;&lt;b&gt;Sentinel-1-/Sentinel-2-lagen&lt;/b&gt;: één GeoTIFF per opname (datums gelezen uit de bestanden).&lt;br&gt;&lt;b&gt;Grootste datumverschil&lt;/b&gt; (optioneel, dagen): paren die verder uit elkaar liggen vallen weg.&lt;br&gt;&lt;b&gt;Grootste wolkenfractie&lt;/b&gt; (optioneel, 0..1): Sentinel-2-datums waarvan de SCL-band meer wolken aangeeft vallen weg.&lt;br&gt;&lt;br&gt;Uitvoermap: de uitgelijnde S1- en S2-stapels (GeoTIFF's met meerdere banden, één band per datum en band) en de datumtabel (CSV).</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="513"/>
        <source>Sentinel-1 layers (one per date)</source>
        <translation>Sentinel-1-lagen (één per datum)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="514"/>
        <source>Sentinel-2 layers (one per date)</source>
        <translation>Sentinel-2-lagen (één per datum)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="341"/>
        <source>Largest S1-S2 date gap (days)</source>
        <translation>Grootste datumverschil S1-S2 (dagen)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="315"/>
        <source>Largest S2 cloud fraction (0..1)</source>
        <translation>Grootste S2-wolkenfractie (0..1)</translation>
    </message>
    <message>
        <location filename="../dock.py" line="180"/>
        <source>Output folder</source>
        <translation>Uitvoermap</translation>
    </message>
    <message>
        <location filename="../algorithms/align.py" line="47"/>
        <source>Aligned Sentinel-1 stack</source>
        <translation>Uitgelijnde Sentinel-1-stapel</translation>
    </message>
    <message>
        <location filename="../algorithms/align.py" line="48"/>
        <source>Aligned Sentinel-2 stack</source>
        <translation>Uitgelijnde Sentinel-2-stapel</translation>
    </message>
    <message>
        <location filename="../algorithms/align.py" line="49"/>
        <source>Date table (CSV)</source>
        <translation>Datumtabel (CSV)</translation>
    </message>
    <message>
        <location filename="../algorithms/align.py" line="50"/>
        <source>Aligned dates</source>
        <translation>Uitgelijnde datums</translation>
    </message>
    <message>
        <location filename="../algorithms/align.py" line="54"/>
        <source>Alignment needs both series: give Sentinel-1 layers (SENTINEL1 or a folder in SENTINEL1_FOLDER) and Sentinel-2 layers (SENTINEL2 or SENTINEL2_FOLDER) of the same area</source>
        <translation>Uitlijnen vereist beide reeksen: geef Sentinel-1-lagen (SENTINEL1 of een map in SENTINEL1_FOLDER) en Sentinel-2-lagen (SENTINEL2 of SENTINEL2_FOLDER) van hetzelfde gebied</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="303"/>
        <source>auto (CUDA GPU when available, else CPU)</source>
        <translation>auto (CUDA-GPU indien beschikbaar, anders CPU)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="303"/>
        <source>cuda (NVIDIA GPU)</source>
        <translation>cuda (NVIDIA-GPU)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="102"/>
        <source>Prepare data</source>
        <translation>Gegevens voorbereiden</translation>
    </message>
    <message>
        <location filename="../dock.py" line="165"/>
        <source>Train</source>
        <translation>Trainen</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="104"/>
        <source>Map</source>
        <translation>Karteren</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="105"/>
        <source>Evaluate</source>
        <translation>Evalueren</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="308"/>
        <source>Epochs</source>
        <translation>Epochs</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="309"/>
        <source>Crop size (pixels)</source>
        <translation>Uitsnedegrootte (pixels)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="311"/>
        <source>Batch size</source>
        <translation>Batchgrootte</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="306"/>
        <source>Random seed</source>
        <translation>Willekeurige seed</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="498"/>
        <source>{0}: or a folder of per-date GeoTIFFs</source>
        <translation>{0}: of een map met GeoTIFF's per datum</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="303"/>
        <source>Compute device</source>
        <translation>Rekenapparaat</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="319"/>
        <source>Network widths (comma-separated; default 16,32,64; reference 32,64,128)</source>
        <translation>Netwerkbreedtes (kommagescheiden; standaard 16,32,64; referentie 32,64,128)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="679"/>
        <source>WIDTHS must be two or more positive integers such as 32,64,128, not {text!r}</source>
        <translation>WIDTHS moet uit twee of meer positieve gehele getallen bestaan, zoals 32,64,128, niet {text!r}</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="701"/>
        <source>{name}_FOLDER: {folder} is not a folder</source>
        <translation>{name}_FOLDER: {folder} is geen map</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="710"/>
        <source>{name}_FOLDER: {folder} holds no GeoTIFF (.tif): choose the folder with one file per date (e.g. the S1/ or S2/ folder written by the download step)</source>
        <translation>{name}_FOLDER: {folder} bevat geen GeoTIFF (.tif): kies de map met één bestand per datum (bv. de map S1/ of S2/ geschreven door de downloadstap)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="789"/>
        <source>{name} must be a number, not {value!r}</source>
        <translation>{name} moet een getal zijn, niet {value!r}</translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="86"/>
        <source>Evaluate segmentation</source>
        <translation>Segmentatie evalueren</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="527"/>
        <source>S4 class raster</source>
        <translation>S4-klassenraster</translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="105"/>
        <source>Reference (polygons or class raster)</source>
        <translation>Referentie (polygonen of klassenraster)</translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="112"/>
        <source>Class field of the reference polygons</source>
        <translation>Klasseveld van de referentiepolygonen</translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="131"/>
        <source>Overall accuracy</source>
        <translation>Totale nauwkeurigheid</translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="132"/>
        <source>Mean IoU</source>
        <translation>Gemiddelde IoU</translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="139"/>
        <source>REFERENCE: choose reference polygons or a class raster</source>
        <translation>REFERENCE: kies referentiepolygonen of een klassenraster</translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="145"/>
        <source>CLASS_FIELD: REFERENCE &apos;{0}&apos; is a vector layer: choose the field that holds its class names</source>
        <translation>CLASS_FIELD: REFERENCE '{0}' is een vectorlaag: kies het veld met de klassennamen</translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="156"/>
        <source>REFERENCE must be a vector or a raster layer</source>
        <translation>REFERENCE moet een vector- of rasterlaag zijn</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="316"/>
        <source>INPUT: choose an S4 class raster</source>
        <translation>INPUT: kies een S4-klassenraster</translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="197"/>
        <source>OUTPUT: the table could not be created</source>
        <translation>OUTPUT: de tabel kon niet worden aangemaakt</translation>
    </message>
    <message>
        <location filename="../algorithms/export.py" line="21"/>
        <source>Export segmentation as GeoPackage</source>
        <translation>Segmentatie exporteren als GeoPackage</translation>
    </message>
    <message>
        <location filename="../algorithms/export.py" line="24"/>
        <source>Turns an S4 class raster (output of 'S4 segment time series') into polygons: one polygon per connected patch of a class, with fields class_id, class_name and area_m2, styled by class (the style is stored in the GeoPackage).&lt;br&gt;&lt;br&gt;&lt;b&gt;Smallest polygon&lt;/b&gt;: patches smaller than this area (m²) are dropped.</source>
        <translation>Zet een S4-klassenraster (uitvoer van 'S4 tijdreeksen segmenteren') om in polygonen: één polygoon per aaneengesloten vlak van een klasse, met de velden class_id, class_name en area_m2, gestileerd per klasse (de stijl wordt in het GeoPackage bewaard).&lt;br&gt;&lt;br&gt;&lt;b&gt;Kleinste polygoon&lt;/b&gt;: vlakken kleiner dan deze oppervlakte (m²) worden weggelaten.</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="332"/>
        <source>Smallest polygon kept (m²)</source>
        <translation>Kleinste behouden polygoon (m²)</translation>
    </message>
    <message>
        <location filename="../algorithms/segment.py" line="58"/>
        <source>Class polygons (GeoPackage)</source>
        <translation>Klassenpolygonen (GeoPackage)</translation>
    </message>
    <message>
        <location filename="../algorithms/export.py" line="36"/>
        <source>Polygons written</source>
        <translation>Geschreven polygonen</translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="39"/>
        <source>Earth Search (Element 84, AWS): Sentinel-2 L2A</source>
        <translation>Earth Search (Element 84, AWS): Sentinel-2 L2A</translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="40"/>
        <source>Microsoft Planetary Computer: Sentinel-2 L2A + Sentinel-1 RTC</source>
        <translation>Microsoft Planetary Computer: Sentinel-2 L2A + Sentinel-1 RTC</translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="41"/>
        <source>Copernicus Data Space (needs S4_CDSE_USER / S4_CDSE_PASSWORD)</source>
        <translation>Copernicus Data Space (vereist S4_CDSE_USER / S4_CDSE_PASSWORD)</translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="42"/>
        <source>Another STAC API (STAC_URL)</source>
        <translation>Een andere STAC-API (STAC_URL)</translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="50"/>
        <source>Download Sentinel-1/-2 time series (STAC)</source>
        <translation>Sentinel-1/-2-tijdreeksen downloaden (STAC)</translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="53"/>
        <source>Searches a STAC catalog for the Sentinel-2 L2A and Sentinel-1 acquisitions over an extent between two dates and downloads only that window of each Cloud-Optimised GeoTIFF, reprojected onto one grid (the extent&apos;s UTM zone at the chosen resolution). The output folder gets S2/ and S1/ with one GeoTIFF per date (same-day tiles mosaicked), ready for the other S4 algorithms, and manifest.json (items, asset URLs, cloud fractions).&lt;br&gt;&lt;br&gt;&lt;b&gt;Provider&lt;/b&gt;: Earth Search (Sentinel-2 only), Planetary Computer (Sentinel-2 and Sentinel-1 RTC backscatter, converted to dB), Copernicus Data Space (account in the environment variables S4_CDSE_USER / S4_CDSE_PASSWORD) or any STAC API URL.&lt;br&gt;&lt;b&gt;Collections&lt;/b&gt;: empty = the provider&apos;s default; &apos;none&apos; skips that sensor.&lt;br&gt;&lt;b&gt;Largest cloud fraction&lt;/b&gt; (optional, 0..1): Sentinel-2 dates with more clouds inside the extent (from the SCL band) are skipped before their bands are read.&lt;br&gt;&lt;br&gt;Running it again into the same folder resumes: finished dates are skipped.</source>
        <translation>Doorzoekt een STAC-catalogus naar de Sentinel-2 L2A- en Sentinel-1-opnamen van een extent tussen twee datums en downloadt alleen dat venster van elke Cloud-Optimised GeoTIFF, geprojecteerd op één raster (de UTM-zone van de extent met de gekozen resolutie). De uitvoermap krijgt S2/ en S1/ met één GeoTIFF per datum (tegels van dezelfde dag samengevoegd), klaar voor de andere S4-algoritmen, en manifest.json (items, URL's van de assets, wolkenfracties).&lt;br&gt;&lt;br&gt;&lt;b&gt;Aanbieder&lt;/b&gt;: Earth Search (alleen Sentinel-2), Planetary Computer (Sentinel-2 en Sentinel-1 RTC-terugverstrooiing, omgezet naar dB), Copernicus Data Space (account in de omgevingsvariabelen S4_CDSE_USER / S4_CDSE_PASSWORD) of eender welke STAC-API-URL.&lt;br&gt;&lt;b&gt;Collecties&lt;/b&gt;: leeg = de standaard van de aanbieder; 'none' slaat die sensor over.&lt;br&gt;&lt;b&gt;Grootste wolkenfractie&lt;/b&gt; (optioneel, 0..1): Sentinel-2-datums met meer wolken binnen de extent (volgens de SCL-band) worden overgeslagen voordat hun banden gelezen worden.&lt;br&gt;&lt;br&gt;Opnieuw uitvoeren in dezelfde map hervat: afgewerkte datums worden overgeslagen.</translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="71"/>
        <source>Extent (area to download)</source>
        <translation>Extent (te downloaden gebied)</translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="72"/>
        <source>First date</source>
        <translation>Eerste datum</translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="73"/>
        <source>Last date</source>
        <translation>Laatste datum</translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="74"/>
        <source>STAC provider</source>
        <translation>STAC-aanbieder</translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="82"/>
        <source>STAC API URL</source>
        <translation>URL van de STAC-API</translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="85"/>
        <source>Sentinel-2 collection (empty: the provider&apos;s)</source>
        <translation>Sentinel-2-collectie (leeg: die van de aanbieder)</translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="90"/>
        <source>Sentinel-1 collection (empty: the provider&apos;s)</source>
        <translation>Sentinel-1-collectie (leeg: die van de aanbieder)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="590"/>
        <source>Largest S2 cloud fraction in the extent (0..1)</source>
        <translation>Grootste S2-wolkenfractie binnen de extent (0..1)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="590"/>
        <source>Pixel size (m)</source>
        <translation>Pixelgrootte (m)</translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="96"/>
        <source>Add the series to the project (one group per sensor)</source>
        <translation>De reeksen aan het project toevoegen (één groep per sensor)</translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="102"/>
        <source>Sentinel-2 folder</source>
        <translation>Sentinel-2-map</translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="103"/>
        <source>Sentinel-1 folder</source>
        <translation>Sentinel-1-map</translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="104"/>
        <source>Manifest (JSON)</source>
        <translation>Manifest (JSON)</translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="105"/>
        <source>Sentinel-2 dates</source>
        <translation>Sentinel-2-datums</translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="106"/>
        <source>Sentinel-1 dates</source>
        <translation>Sentinel-1-datums</translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="122"/>
        <source>Give the STAC_URL of the STAC API to search</source>
        <translation>Geef de STAC_URL van de te doorzoeken STAC-API</translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="126"/>
        <source>EXTENT is empty: draw or choose the area to download</source>
        <translation>EXTENT is leeg: teken of kies het te downloaden gebied</translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="128"/>
        <source>EXTENT has no valid CRS</source>
        <translation>EXTENT heeft geen geldig CRS</translation>
    </message>
    <message>
        <location filename="../algorithms/fetch.py" line="133"/>
        <source>{name} is not a valid date</source>
        <translation>{name} is geen geldige datum</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="450"/>
        <source>s2: Sentinel-2 (optical)</source>
        <translation>s2: Sentinel-2 (optisch)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="450"/>
        <source>s1: Sentinel-1 (radar)</source>
        <translation>s1: Sentinel-1 (radar)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="450"/>
        <source>Pixel head on the frozen network (default: best maps from a few polygons)</source>
        <translation>Pixelkop op het bevroren netwerk (standaard: beste kaarten uit enkele polygonen)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="450"/>
        <source>3D U-Net fine-tuning (the paper&apos;s; uses epochs, crop and batch size)</source>
        <translation>Fijnafstemming van het 3D U-Net (zoals in het artikel; gebruikt epochs, uitsnede- en batchgrootte)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="450"/>
        <source>As the pretrained model (monthly composites without one)</source>
        <translation>Zoals het voorgetrainde model (maandcomposieten zonder model)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="450"/>
        <source>Monthly cloud-free composites</source>
        <translation>Wolkenvrije maandcomposieten</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="450"/>
        <source>The acquisitions as they are</source>
        <translation>De opnamen zoals ze zijn</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="450"/>
        <source>Balanced (inverse class frequency: favours small classes)</source>
        <translation>Gebalanceerd (omgekeerde klassefrequentie: bevoordeelt kleine klassen)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="450"/>
        <source>None (default; plain loss: better maps when polygon areas differ a lot)</source>
        <translation>Geen (standaard; gewone loss: betere kaarten als polygoonoppervlakten sterk verschillen)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="220"/>
        <source>{parameter}: choose the field of {layer_parameter} that holds the class names</source>
        <translation>{parameter}: kies het veld van {layer_parameter} met de klassennamen</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="227"/>
        <source>{parameter}: field &apos;{field}&apos; does not exist in layer &apos;{0}&apos; ({layer_parameter}); its fields are: {1}</source>
        <translation>{parameter}: veld '{field}' bestaat niet in laag '{0}' ({layer_parameter}); de velden zijn: {1}</translation>
    </message>
    <message>
        <location filename="../algorithms/finetune.py" line="21"/>
        <source>S4 fine-tune on labelled polygons</source>
        <translation>S4 fijnafstemmen op gelabelde polygonen</translation>
    </message>
    <message>
        <location filename="../algorithms/profiles.py" line="44"/>
        <source>Labelled polygons</source>
        <translation>Gelabelde polygonen</translation>
    </message>
    <message>
        <location filename="../dock.py" line="367"/>
        <source>Class field</source>
        <translation>Klasseveld</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="450"/>
        <source>Pretrained model (optional; none = train from scratch)</source>
        <translation>Voorgetraind model (optioneel; geen = van nul trainen)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="450"/>
        <source>Inference modality</source>
        <translation>Modaliteit voor de kaart</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="450"/>
        <source>Head</source>
        <translation>Kop</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="450"/>
        <source>Input</source>
        <translation>Invoer</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="329"/>
        <source>Map resolution (CRS units; 0 = the imagery&apos;s)</source>
        <translation>Kaartresolutie (CRS-eenheden; 0 = die van de beelden)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="450"/>
        <source>Freeze the pretrained encoder</source>
        <translation>De voorgetrainde encoder bevriezen</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="450"/>
        <source>Class weighting</source>
        <translation>Klassegewichten</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="450"/>
        <source>Share of polygons held out for validation</source>
        <translation>Aandeel polygonen apart gehouden voor validatie</translation>
    </message>
    <message>
        <location filename="../algorithms/finetune.py" line="56"/>
        <source>Fine-tuned checkpoint</source>
        <translation>Fijnafgestemd checkpoint</translation>
    </message>
    <message>
        <location filename="../algorithms/finetune.py" line="57"/>
        <source>Validation mIoU</source>
        <translation>Validatie-mIoU</translation>
    </message>
    <message>
        <location filename="../algorithms/finetune.py" line="58"/>
        <source>Class names (comma separated)</source>
        <translation>Klassennamen (kommagescheiden)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="639"/>
        <source>LABELS: choose a polygon layer with labelled polygons</source>
        <translation>LABELS: kies een polygoonlaag met gelabelde polygonen</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="644"/>
        <source>LABELS: layer &apos;{0}&apos; has no polygons: digitise a few polygons of each class first</source>
        <translation>LABELS: laag '{0}' heeft geen polygonen: digitaliseer eerst enkele polygonen per klasse</translation>
    </message>
    <message>
        <location filename="../algorithms/finetune.py" line="68"/>
        <source>Inference modality is {0} but no {1} layers were given: add them to {name} or change MODALITY</source>
        <translation>De modaliteit voor de kaart is {0}, maar er zijn geen {1}-lagen gegeven: voeg ze toe aan {name} of wijzig MODALITY</translation>
    </message>
    <message>
        <location filename="../algorithms/finetune.py" line="74"/>
        <source>INIT_MODEL: checkpoint file not found: {init}</source>
        <translation>INIT_MODEL: checkpointbestand niet gevonden: {init}</translation>
    </message>
    <message>
        <location filename="../algorithms/pretrain.py" line="36"/>
        <source>S4 pretrain (self-supervised, S1 + S2)</source>
        <translation>S4 voortrainen (zelfgestuurd, S1 + S2)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="345"/>
        <source>Training steps per epoch (default: as many as the scene&apos;s crops)</source>
        <translation>Trainingsstappen per epoch (standaard: evenveel als de uitsneden van de scène)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="323"/>
        <source>Input: cloud-free composites of N months (0 = the acquisitions as they are)</source>
        <translation>Invoer: wolkenvrije composieten van N maanden (0 = de opnamen zoals ze zijn)</translation>
    </message>
    <message>
        <location filename="../algorithms/pretrain.py" line="62"/>
        <source>Pretrained checkpoint</source>
        <translation>Voorgetraind checkpoint</translation>
    </message>
    <message>
        <location filename="../algorithms/pretrain.py" line="63"/>
        <source>Loss of the last epoch</source>
        <translation>Loss van de laatste epoch</translation>
    </message>
    <message>
        <location filename="../algorithms/pretrain.py" line="79"/>
        <source>Pretraining needs both series: give Sentinel-1 layers (SENTINEL1 or a folder in SENTINEL1_FOLDER) and Sentinel-2 layers (SENTINEL2 or SENTINEL2_FOLDER) of the same area</source>
        <translation>Voortrainen vereist beide reeksen: geef Sentinel-1-lagen (SENTINEL1 of een map in SENTINEL1_FOLDER) en Sentinel-2-lagen (SENTINEL2 of SENTINEL2_FOLDER) van hetzelfde gebied</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="208"/>
        <source>{parameter} must be a {kind} file ({0}), not {path}</source>
        <translation>{parameter} moet een {kind}-bestand zijn ({0}), niet {path}</translation>
    </message>
    <message>
        <location filename="../algorithms/segment.py" line="26"/>
        <source>S4 segment time series</source>
        <translation>S4 tijdreeksen segmenteren</translation>
    </message>
    <message>
        <location filename="../algorithms/suggest.py" line="39"/>
        <source>Fine-tuned S4 model</source>
        <translation>Fijnafgestemd S4-model</translation>
    </message>
    <message>
        <location filename="../algorithms/segment.py" line="55"/>
        <source>Extent to map</source>
        <translation>Te karteren extent</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="513"/>
        <source>Tiles per batch</source>
        <translation>Tegels per batch</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="513"/>
        <source>Resolution (CRS units; 0 = the one the model was fine-tuned on)</source>
        <translation>Resolutie (CRS-eenheden; 0 = die waarop het model is fijnafgestemd)</translation>
    </message>
    <message>
        <location filename="../algorithms/segment.py" line="57"/>
        <source>Class raster</source>
        <translation>Klassenraster</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="596"/>
        <source>No input layers: give the Sentinel-2 (SENTINEL2) or Sentinel-1 (SENTINEL1) layers of the modality the model was fine-tuned for</source>
        <translation>Geen invoerlagen: geef de Sentinel-2-lagen (SENTINEL2) of Sentinel-1-lagen (SENTINEL1) van de modaliteit waarvoor het model is fijnafgestemd</translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="54"/>
        <source>S4 — Python dependencies</source>
        <translation>S4 — Python-afhankelijkheden</translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="73"/>
        <source>Package</source>
        <translation>Pakket</translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="73"/>
        <source>Version</source>
        <translation>Versie</translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="73"/>
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="73"/>
        <source>Location</source>
        <translation>Locatie</translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="83"/>
        <source>CPU only</source>
        <translation>Alleen CPU</translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="86"/>
        <source>NVIDIA GPU, CUDA {0}.{1}</source>
        <translation>NVIDIA-GPU, CUDA {0}.{1}</translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="110"/>
        <source>torch build:</source>
        <translation>torch-build:</translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="112"/>
        <source>QGIS&apos;s Python:</source>
        <translation>Python van QGIS:</translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="113"/>
        <source>Install into:</source>
        <translation>Installeren in:</translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="114"/>
        <source>Packages:</source>
        <translation>Pakketten:</translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="115"/>
        <source>Never replaced:</source>
        <translation>Nooit vervangen:</translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="128"/>
        <source>Install</source>
        <translation>Installeren</translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="129"/>
        <source>Cancel install</source>
        <translation>Installatie annuleren</translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="182"/>
        <source> (torch from {0})</source>
        <translation> (torch van {0})</translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="193"/>
        <source> + {rest} more</source>
        <translation> + nog {rest}</translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="207"/>
        <source>Installing… (torch is large: this can take several minutes)</source>
        <translation>Bezig met installeren… (torch is groot: dit kan enkele minuten duren)</translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="225"/>
        <source>Cancelling: stopping pip…</source>
        <translation>Annuleren: pip wordt gestopt…</translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="238"/>
        <source>&lt;b&gt;Installed. Restart QGIS to use S4.&lt;/b&gt;</source>
        <translation>&lt;b&gt;Geïnstalleerd. Herstart QGIS om S4 te gebruiken.&lt;/b&gt;</translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="240"/>
        <source>&lt;b&gt;Installed. S4&apos;s algorithms are ready.&lt;/b&gt;</source>
        <translation>&lt;b&gt;Geïnstalleerd. De algoritmen van S4 zijn klaar.&lt;/b&gt;</translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="244"/>
        <source>Cancelled: nothing was changed.</source>
        <translation>Geannuleerd: er is niets gewijzigd.</translation>
    </message>
    <message>
        <location filename="../dialogs/diagnostics_dialog.py" line="97"/>
        <source>S4 {__version__} — about and diagnostics</source>
        <translation>S4 {__version__} — info en diagnose</translation>
    </message>
    <message>
        <location filename="../dialogs/diagnostics_dialog.py" line="101"/>
        <source>&lt;b&gt;S4 {__version__}&lt;/b&gt;: self-supervised segmentation of Sentinel-1/-2 image time series (Shenoy et al., &lt;i&gt;Remote Sensing&lt;/i&gt; 2024). Algorithms: Processing Toolbox &amp;gt; S4. Please attach this report to bug reports.</source>
        <translation>&lt;b&gt;S4 {__version__}&lt;/b&gt;: zelfgestuurde segmentatie van Sentinel-1/-2-beeldtijdreeksen (Shenoy et al., &lt;i&gt;Remote Sensing&lt;/i&gt; 2024). Algoritmen: Processing-toolbox &amp;gt; S4. Voeg dit rapport toe aan foutmeldingen.</translation>
    </message>
    <message>
        <location filename="../dialogs/diagnostics_dialog.py" line="114"/>
        <source>Copy to clipboard</source>
        <translation>Naar klembord kopiëren</translation>
    </message>
    <message>
        <location filename="../plugin.py" line="59"/>
        <source>Dependencies…</source>
        <translation>Afhankelijkheden…</translation>
    </message>
    <message>
        <location filename="../dialogs/diagnostics_dialog.py" line="131"/>
        <source>Copied</source>
        <translation>Gekopieerd</translation>
    </message>
    <message>
        <location filename="../dock.py" line="164"/>
        <source>Data</source>
        <translation>Gegevens</translation>
    </message>
    <message>
        <location filename="../dock.py" line="435"/>
        <source>Segment</source>
        <translation>Segmenteren</translation>
    </message>
    <message>
        <location filename="../dock.py" line="750"/>
        <source>Model</source>
        <translation>Model</translation>
    </message>
    <message>
        <location filename="../dock.py" line="179"/>
        <source>Fine-tuned models and class maps are written here</source>
        <translation>Fijnafgestemde modellen en klassenkaarten worden hier geschreven</translation>
    </message>
    <message>
        <location filename="../dock.py" line="184"/>
        <source>Check</source>
        <translation>Controleren</translation>
    </message>
    <message>
        <location filename="../dock.py" line="184"/>
        <source>Which device will the engine use?</source>
        <translation>Welk apparaat zal de engine gebruiken?</translation>
    </message>
    <message>
        <location filename="../dock.py" line="189"/>
        <source>Device</source>
        <translation>Apparaat</translation>
    </message>
    <message>
        <location filename="../dock.py" line="197"/>
        <source>Cancel</source>
        <translation>Annuleren</translation>
    </message>
    <message>
        <location filename="../dock.py" line="203"/>
        <source>Ready</source>
        <translation>Klaar</translation>
    </message>
    <message>
        <location filename="../dock.py" line="209"/>
        <source>Log</source>
        <translation>Logboek</translation>
    </message>
    <message>
        <location filename="../dock.py" line="216"/>
        <source>Sentinel-2 (optical) layers of the project, by date:</source>
        <translation>Sentinel-2-lagen (optisch) van het project, per datum:</translation>
    </message>
    <message>
        <location filename="../dock.py" line="219"/>
        <source>Sentinel-1 (radar) layers of the project, by date:</source>
        <translation>Sentinel-1-lagen (radar) van het project, per datum:</translation>
    </message>
    <message>
        <location filename="../dock.py" line="225"/>
        <source>Refresh</source>
        <translation>Vernieuwen</translation>
    </message>
    <message>
        <location filename="../dock.py" line="226"/>
        <source>Check all</source>
        <translation>Alles aanvinken</translation>
    </message>
    <message>
        <location filename="../dock.py" line="227"/>
        <source>Uncheck all</source>
        <translation>Alles uitvinken</translation>
    </message>
    <message>
        <location filename="../dock.py" line="231"/>
        <source>Download S1 + S2 for the map extent…</source>
        <translation>S1 + S2 downloaden voor de kaartextent…</translation>
    </message>
    <message>
        <location filename="../dock.py" line="231"/>
        <source>Search a STAC catalog and download the Sentinel-1 and Sentinel-2 series of the current map extent (Processing: Download Sentinel-1/-2 time series); the series are added to the project</source>
        <translation>Een STAC-catalogus doorzoeken en de Sentinel-1- en Sentinel-2-reeksen van de huidige kaartextent downloaden (Processing: Sentinel-1/-2-tijdreeksen downloaden); de reeksen worden aan het project toegevoegd</translation>
    </message>
    <message>
        <location filename="../dock.py" line="242"/>
        <source>Add one GeoTIFF per acquisition to the project (Layer &gt; Add Raster Layer); checked layers are used for fine-tuning and segmentation.</source>
        <translation>Voeg één GeoTIFF per opname toe aan het project (Kaartlagen &gt; Rasterlaag toevoegen); aangevinkte lagen worden gebruikt voor fijnafstemming en segmentatie.</translation>
    </message>
    <message>
        <location filename="../dock.py" line="303"/>
        <source>Cannot open the download dialog: {error}</source>
        <translation>Kan het downloadvenster niet openen: {error}</translation>
    </message>
    <message>
        <location filename="../dock.py" line="340"/>
        <source>e.g. wheat, maize, potatoes, grassland</source>
        <translation>bv. tarwe, maïs, aardappelen, grasland</translation>
    </message>
    <message>
        <location filename="../dock.py" line="341"/>
        <source>From model</source>
        <translation>Uit model</translation>
    </message>
    <message>
        <location filename="../dock.py" line="341"/>
        <source>Use the class names of the loaded model</source>
        <translation>De klassennamen van het geladen model gebruiken</translation>
    </message>
    <message>
        <location filename="../dock.py" line="349"/>
        <source>Classes</source>
        <translation>Klassen</translation>
    </message>
    <message>
        <location filename="../dock.py" line="350"/>
        <source>New label layer…</source>
        <translation>Nieuwe labellaag…</translation>
    </message>
    <message>
        <location filename="../dock.py" line="350"/>
        <source>Create a GeoPackage polygon layer whose form offers the classes, add it to the project and start digitising</source>
        <translation>Een GeoPackage-polygoonlaag aanmaken waarvan het formulier de klassen aanbiedt, ze aan het project toevoegen en beginnen met digitaliseren</translation>
    </message>
    <message>
        <location filename="../dock.py" line="366"/>
        <source>Label layer</source>
        <translation>Labellaag</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1373"/>
        <source>S4 checkpoint (*.pt)</source>
        <translation>S4-checkpoint (*.pt)</translation>
    </message>
    <message>
        <location filename="../dock.py" line="370"/>
        <source>Pretrained checkpoint to start from; empty = from scratch</source>
        <translation>Voorgetraind checkpoint om van te vertrekken; leeg = van nul</translation>
    </message>
    <message>
        <location filename="../dock.py" line="371"/>
        <source>Start from</source>
        <translation>Vertrekken van</translation>
    </message>
    <message>
        <location filename="../dock.py" line="373"/>
        <source>Map from</source>
        <translation>Karteren met</translation>
    </message>
    <message>
        <location filename="../dock.py" line="384"/>
        <source>Pixel head (default): the pretrained network stays frozen; small per-pixel classifiers learn from each pixel&apos;s monthly series and the network&apos;s features, and the map is smoothed inside fields (seconds on a CPU). 3D U-Net: the paper&apos;s fine-tuning of the whole network (epochs, crop and batch size apply to it).</source>
        <translation>Pixelkop (standaard): het voorgetrainde netwerk blijft bevroren; kleine classificatoren per pixel leren van de maandreeks van elke pixel en van de kenmerken van het netwerk, en de kaart wordt binnen percelen afgevlakt (seconden op een CPU). 3D U-Net: de fijnafstemming van het hele netwerk uit het artikel (epochs, uitsnede- en batchgrootte gelden ervoor).</translation>
    </message>
    <message>
        <location filename="../dock.py" line="396"/>
        <source>Epochs (3D U-Net)</source>
        <translation>Epochs (3D U-Net)</translation>
    </message>
    <message>
        <location filename="../dock.py" line="399"/>
        <source>Few polygons of unequal size</source>
        <translation>Weinig polygonen van ongelijke grootte</translation>
    </message>
    <message>
        <location filename="../dock.py" line="400"/>
        <source>3D U-Net head: freeze the pretrained encoder and use an unweighted loss (the default weighting): with a handful of polygons of very different areas this maps unseen fields better</source>
        <translation>3D U-Net-kop: de voorgetrainde encoder bevriezen en een ongewogen loss gebruiken (de standaardweging): met een handvol polygonen van sterk verschillende grootte kartert dit ongeziene percelen beter</translation>
    </message>
    <message>
        <location filename="../dock.py" line="408"/>
        <source>Fine-tune</source>
        <translation>Fijnafstemmen</translation>
    </message>
    <message>
        <location filename="../dock.py" line="416"/>
        <source>Current map extent</source>
        <translation>Huidige kaartextent</translation>
    </message>
    <message>
        <location filename="../dock.py" line="416"/>
        <source>Extent of a layer</source>
        <translation>Extent van een laag</translation>
    </message>
    <message>
        <location filename="../dock.py" line="416"/>
        <source>Whole scene</source>
        <translation>Volledige scène</translation>
    </message>
    <message>
        <location filename="../dock.py" line="423"/>
        <source>Area</source>
        <translation>Gebied</translation>
    </message>
    <message>
        <location filename="../dock.py" line="424"/>
        <source>Layer</source>
        <translation>Laag</translation>
    </message>
    <message>
        <location filename="../dock.py" line="429"/>
        <source>Also write class polygons (GeoPackage)</source>
        <translation>Ook klassenpolygonen schrijven (GeoPackage)</translation>
    </message>
    <message>
        <location filename="../dock.py" line="434"/>
        <source>Smallest polygon</source>
        <translation>Kleinste polygoon</translation>
    </message>
    <message>
        <location filename="../dock.py" line="461"/>
        <source>No model loaded</source>
        <translation>Geen model geladen</translation>
    </message>
    <message>
        <location filename="../dock.py" line="464"/>
        <source>Load…</source>
        <translation>Laden…</translation>
    </message>
    <message>
        <location filename="../dock.py" line="465"/>
        <source>Save as…</source>
        <translation>Opslaan als…</translation>
    </message>
    <message>
        <location filename="../dock.py" line="466"/>
        <source>Info</source>
        <translation>Info</translation>
    </message>
    <message>
        <location filename="../dock.py" line="642"/>
        <source>{0}
bands: {1}</source>
        <translation>{0}
banden: {1}</translation>
    </message>
    <message>
        <location filename="../dock.py" line="762"/>
        <source>Load a fine-tuned model first (Model tab) to use its class names</source>
        <translation>Laad eerst een fijnafgestemd model (tabblad Model) om zijn klassennamen te gebruiken</translation>
    </message>
    <message>
        <location filename="../dock.py" line="779"/>
        <source>Type the class names first (comma separated) or load a model</source>
        <translation>Typ eerst de klassennamen (kommagescheiden) of laad een model</translation>
    </message>
    <message>
        <location filename="../dock.py" line="783"/>
        <source>New S4 label layer</source>
        <translation>Nieuwe S4-labellaag</translation>
    </message>
    <message>
        <location filename="../dock.py" line="783"/>
        <source>GeoPackage (*.gpkg)</source>
        <translation>GeoPackage (*.gpkg)</translation>
    </message>
    <message>
        <location filename="../dock.py" line="813"/>
        <source>Label layer {path} created with classes {0}: digitise polygons, pick their class in the form, then Fine-tune</source>
        <translation>Labellaag {path} aangemaakt met de klassen {0}: digitaliseer polygonen, kies hun klasse in het formulier en klik dan op Fijnafstemmen</translation>
    </message>
    <message>
        <location filename="../dock.py" line="922"/>
        <source>Cancelling…</source>
        <translation>Bezig met annuleren…</translation>
    </message>
    <message>
        <location filename="../dock.py" line="563"/>
        <source>S4 is busy: wait for the running task or cancel it</source>
        <translation>S4 is bezig: wacht op de lopende taak of annuleer ze</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1165"/>
        <source>Choose a label layer (Train tab) or create one with 'New label layer…'</source>
        <translation>Kies een labellaag (tabblad Trainen) of maak er een met 'Nieuwe labellaag…'</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1169"/>
        <source>Choose the class field of &apos;{0}&apos; (Train tab)</source>
        <translation>Kies het klasseveld van '{0}' (tabblad Trainen)</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1172"/>
        <source>&apos;{0}&apos; has no polygons yet: digitise a few of each class</source>
        <translation>'{0}' heeft nog geen polygonen: digitaliseer er enkele per klasse</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1029"/>
        <source>Fine-tuning on {0} {1} dates and &apos;{2}&apos; ({3}) from {4}</source>
        <translation>Fijnafstemmen op {0} {1}-datums en '{2}' ({3}) vanaf {4}</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1033"/>
        <source>Fine-tuning on {0} {1} dates and &apos;{2}&apos; ({3}) from scratch</source>
        <translation>Fijnafstemmen op {0} {1}-datums en '{2}' ({3}) van nul</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1051"/>
        <source>Fine-tuning failed: {error}</source>
        <translation>Fijnafstemmen mislukt: {error}</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1265"/>
        <source>Load a fine-tuned model first (Model tab), or fine-tune one</source>
        <translation>Laad eerst een fijnafgestemd model (tabblad Model) of stem er een fijn af</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1128"/>
        <source>Segmenting with {0}</source>
        <translation>Segmenteren met {0}</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1135"/>
        <source>Segmentation cancelled; nothing was written</source>
        <translation>Segmentatie geannuleerd; er is niets geschreven</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1134"/>
        <source>Segmentation failed: {error}</source>
        <translation>Segmentatie mislukt: {error}</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1142"/>
        <source>S4 classes ({model})</source>
        <translation>S4-klassen ({model})</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1147"/>
        <source>Could not open the class map {0}</source>
        <translation>Kon de klassenkaart {0} niet openen</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1149"/>
        <source>S4 class polygons ({model})</source>
        <translation>S4-klassenpolygonen ({model})</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1351"/>
        <source>Load S4 model</source>
        <translation>S4-model laden</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1357"/>
        <source>Model file not found: {path}</source>
        <translation>Modelbestand niet gevonden: {path}</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1363"/>
        <source>Model loaded: {path}</source>
        <translation>Model geladen: {path}</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1370"/>
        <source>No model to save: load or fine-tune one first</source>
        <translation>Geen model om op te slaan: laad of stem er eerst een fijn af</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1373"/>
        <source>Save S4 model as</source>
        <translation>S4-model opslaan als</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1389"/>
        <source>Could not save the model as {path}: {error}</source>
        <translation>Kon het model niet opslaan als {path}: {error}</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1395"/>
        <source>Model saved as {path}</source>
        <translation>Model opgeslagen als {path}</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1447"/>
        <source>device: {text}</source>
        <translation>apparaat: {text}</translation>
    </message>
    <message>
        <location filename="../plugin.py" line="52"/>
        <source>About / diagnostics…</source>
        <translation>Info / diagnose…</translation>
    </message>
    <message>
        <location filename="../plugin.py" line="54"/>
        <source>S4: segment Sentinel-1/-2 time series with few labels</source>
        <translation>S4: Sentinel-1/-2-tijdreeksen segmenteren met weinig labels</translation>
    </message>
    <message>
        <location filename="../plugin.py" line="61"/>
        <source>Install PyTorch and the engine&apos;s other Python packages</source>
        <translation>PyTorch en de andere Python-pakketten van de engine installeren</translation>
    </message>
    <message>
        <location filename="../plugin.py" line="77"/>
        <source>needs PyTorch, which QGIS&apos;s Python does not have yet. Install it now?</source>
        <translation>heeft PyTorch nodig, dat de Python van QGIS nog niet heeft. Nu installeren?</translation>
    </message>
    <message>
        <location filename="../plugin.py" line="80"/>
        <source>Install dependencies…</source>
        <translation>Afhankelijkheden installeren…</translation>
    </message>
    <message>
        <location filename="../plugin.py" line="95"/>
        <source>S4 panel</source>
        <translation>S4-paneel</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1073"/>
        <source>Choose the layer whose extent to map (Segment tab)</source>
        <translation>Kies de laag waarvan de extent gekarteerd wordt (tabblad Segmenteren)</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1079"/>
        <source>The chosen extent is empty: zoom to the scene or pick another area</source>
        <translation>De gekozen extent is leeg: zoom naar de scène of kies een ander gebied</translation>
    </message>
    <message>
        <location filename="../layers.py" line="79"/>
        <source>{where}layer &apos;{0}&apos; is not a local raster file ({1}); S4 reads GeoTIFFs from disk: save the layer as GeoTIFF (Export &gt; Save As) first</source>
        <translation>{where}laag '{0}' is geen lokaal rasterbestand ({1}); S4 leest GeoTIFF's van schijf: sla de laag eerst op als GeoTIFF (Exporteren &gt; Opslaan als)</translation>
    </message>
    <message>
        <location filename="../layers.py" line="249"/>
        <source>could not write layer &apos;{0}&apos; to {out_path}: {message}</source>
        <translation>kon laag '{0}' niet schrijven naar {out_path}: {message}</translation>
    </message>
    <message>
        <location filename="../layers.py" line="293"/>
        <source>layer &apos;{0}&apos; has no field &apos;{field_name}&apos;</source>
        <translation>laag '{0}' heeft geen veld '{field_name}'</translation>
    </message>
    <message>
        <location filename="../layers.py" line="329"/>
        <source>could not create {path}: {message}</source>
        <translation>kon {path} niet aanmaken: {message}</translation>
    </message>
    <message>
        <location filename="../layers.py" line="333"/>
        <source>could not open the new label layer {path}</source>
        <translation>kon de nieuwe labellaag {path} niet openen</translation>
    </message>
    <message>
        <location filename="../provider.py" line="29"/>
        <source>S4 Sentinel time-series segmentation {0}</source>
        <translation>S4 segmentatie van Sentinel-tijdreeksen {0}</translation>
    </message>
    <message>
        <location filename="../styling.py" line="132"/>
        <source>could not export the style of {0}: {error}</source>
        <translation>kon de stijl van {0} niet exporteren: {error}</translation>
    </message>
    <message>
        <location filename="../styling.py" line="235"/>
        <source>could not store the style in {0}: {error}</source>
        <translation>kon de stijl niet opslaan in {0}: {error}</translation>
    </message>
    <message>
        <location filename="../styling.py" line="244"/>
        <source>could not open the class raster {path}</source>
        <translation>kon het klassenraster {path} niet openen</translation>
    </message>
    <message>
        <location filename="../styling.py" line="252"/>
        <source>could not open the polygons {path}</source>
        <translation>kon de polygonen {path} niet openen</translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="193"/>
        <source>(none found)</source>
        <translation>(geen gevonden)</translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="89"/>
        <source>Compares an S4 class raster with reference data: overall accuracy (OA), mean intersection over union (mIoU), IoU per class and the confusion matrix.&lt;br&gt;&lt;br&gt;&lt;b&gt;Class raster&lt;/b&gt;: output of &apos;S4 segment time series&apos;.&lt;br&gt;&lt;b&gt;Reference&lt;/b&gt;: polygons with a class-name field (give &lt;b&gt;Class field&lt;/b&gt;) or a class raster; classes are matched by name.&lt;br&gt;&lt;br&gt;Outputs: OA and mIoU, and a table with one row per reference class: class_name, iou, support (reference pixels), then the confusion-matrix counts, one column per predicted class (pred_&amp;lt;class&amp;gt;); the confusion matrix as a figure (PNG or SVG; optional) and an HTML report (scores, per-class IoU, the matrix with its figure) that QGIS shows in the results viewer.</source>
        <translation>Vergelijkt een S4-klassenraster met referentiegegevens: totale nauwkeurigheid (OA), gemiddelde intersection over union (mIoU), IoU per klasse en de verwarringsmatrix.&lt;br&gt;&lt;br&gt;&lt;b&gt;Klassenraster&lt;/b&gt;: uitvoer van 'S4 tijdreeks segmenteren'.&lt;br&gt;&lt;b&gt;Referentie&lt;/b&gt;: polygonen met een veld met de klassennaam (geef &lt;b&gt;Klassenveld&lt;/b&gt;) of een klassenraster; klassen worden op naam gekoppeld.&lt;br&gt;&lt;br&gt;Uitvoer: OA en mIoU, en een tabel met één rij per referentieklasse: class_name, iou, support (referentiepixels), dan de aantallen van de verwarringsmatrix, één kolom per voorspelde klasse (pred_&amp;lt;klasse&amp;gt;); de verwarringsmatrix als figuur (PNG of SVG; optioneel) en een HTML-rapport (scores, IoU per klasse, de matrix met haar figuur) dat QGIS in de resultatenviewer toont.</translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="125"/>
        <source>Confusion matrix figure (PNG or SVG)</source>
        <translation>Figuur van de verwarringsmatrix (PNG of SVG)</translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="126"/>
        <source>Evaluation report (HTML)</source>
        <translation>Evaluatierapport (HTML)</translation>
    </message>
    <message>
        <location filename="../algorithms/profiles.py" line="24"/>
        <source>Class profiles (NDVI, VV, VH over time)</source>
        <translation>Klassenprofielen (NDVI, VV, VH in de tijd)</translation>
    </message>
    <message>
        <location filename="../algorithms/profiles.py" line="27"/>
        <source>Per class of a label layer, the mean and spread (one standard deviation over the class&apos;s pixels) over time of NDVI (Sentinel-2, or the red-edge NDRE without B04; clouds, shadows and no data masked with the SCL band: classes 0 1 3 8 9 10) and of VV / VH (Sentinel-1, dB). Shows whether the classes differ at all, and which polygons do not look like their class.&lt;br&gt;&lt;br&gt;&lt;b&gt;Outliers&lt;/b&gt;: every date is scaled by the usual within-class spread; a polygon is flagged when its profile is at most half as far from another class&apos;s mean as from the mean of the other polygons of its class, or further than THRESHOLD spreads from it.&lt;br&gt;&lt;br&gt;Outputs: the numbers as CSV (kind, class, polygon, variable, date, mean, std, n: one row per class or polygon, variable and date; polygons numbered from 0 in the layer&apos;s order) and a figure (PNG, SVG or PDF).</source>
        <translation>Per klasse van een labellaag het gemiddelde en de spreiding (één standaardafwijking over de pixels van de klasse) in de tijd van NDVI (Sentinel-2, of de red-edge-index NDRE zonder B04; wolken, schaduwen en ontbrekende gegevens gemaskeerd met de SCL-band: klassen 0 1 3 8 9 10) en van VV / VH (Sentinel-1, dB). Toont of de klassen überhaupt verschillen, en welke polygonen niet op hun klasse lijken.&lt;br&gt;&lt;br&gt;&lt;b&gt;Uitschieters&lt;/b&gt;: elke datum wordt geschaald met de gebruikelijke spreiding binnen de klassen; een polygoon wordt gemarkeerd wanneer zijn profiel hoogstens half zo ver van het gemiddelde van een andere klasse ligt als van het gemiddelde van de andere polygonen van zijn klasse, of verder dan THRESHOLD spreidingen ervan.&lt;br&gt;&lt;br&gt;Uitvoer: de getallen als CSV (kind, class, polygon, variable, date, mean, std, n: één rij per klasse of polygoon, variabele en datum; polygonen genummerd vanaf 0 in de volgorde van de laag) en een figuur (PNG, SVG of PDF).</translation>
    </message>
    <message>
        <location filename="../algorithms/profiles.py" line="46"/>
        <source>Profiles (CSV)</source>
        <translation>Profielen (CSV)</translation>
    </message>
    <message>
        <location filename="../algorithms/profiles.py" line="51"/>
        <source>Profiles figure (PNG or SVG)</source>
        <translation>Figuur van de profielen (PNG of SVG)</translation>
    </message>
    <message>
        <location filename="../algorithms/profiles.py" line="52"/>
        <source>Outlier polygons</source>
        <translation>Uitschieters (polygonen)</translation>
    </message>
    <message>
        <location filename="../algorithms/profiles.py" line="58"/>
        <source>No input layers: give the Sentinel-2 (SENTINEL2) and/or Sentinel-1 (SENTINEL1) layers</source>
        <translation>Geen invoerlagen: geef de Sentinel-2-lagen (SENTINEL2) en/of de Sentinel-1-lagen (SENTINEL1)</translation>
    </message>
    <message>
        <location filename="../algorithms/suggest.py" line="21"/>
        <source>Where to label next (least confident squares)</source>
        <translation>Waar nu labelen (vierkanten met de minste zekerheid)</translation>
    </message>
    <message>
        <location filename="../algorithms/suggest.py" line="24"/>
        <source>Proposes small squares (5 x 5 pixels, like an analyst&apos;s label squares) where a fine-tuned S4 model is least sure of the class, spread over the area and over the predicted classes, away from the existing labels. Label them (copy a square into the label layer with its class) and fine-tune again: a few well-placed squares teach the model more than squares where it is already right.&lt;br&gt;&lt;br&gt;&lt;b&gt;Labels&lt;/b&gt; (optional): the polygons already labelled; no square touches them.&lt;br&gt;Squares lie inside one predicted class (not across field borders). The same inputs and SEED give the same squares.&lt;br&gt;&lt;br&gt;Output: a polygon layer with fields rank (1 = least sure), uncertainty, predicted, confidence and an empty label field.</source>
        <translation>Stelt kleine vierkanten voor (5 x 5 pixels, zoals de labelvierkanten van een analist) waar een fijnafgestemd S4-model het minst zeker is van de klasse, gespreid over het gebied en over de voorspelde klassen, weg van de bestaande labels. Label ze (kopieer een vierkant met zijn klasse naar de labellaag) en stem opnieuw fijn af: een paar goed geplaatste vierkanten leren het model meer dan vierkanten waar het al gelijk heeft.&lt;br&gt;&lt;br&gt;&lt;b&gt;Labels&lt;/b&gt; (optioneel): de reeds gelabelde polygonen; geen vierkant raakt ze.&lt;br&gt;Vierkanten liggen binnen één voorspelde klasse (niet over perceelgrenzen). Dezelfde invoer en SEED geven dezelfde vierkanten.&lt;br&gt;&lt;br&gt;Uitvoer: een polygonenlaag met de velden rank (1 = minst zeker), uncertainty, predicted, confidence en een leeg veld label.</translation>
    </message>
    <message>
        <location filename="../algorithms/suggest.py" line="41"/>
        <source>Existing labels (avoided)</source>
        <translation>Bestaande labels (vermeden)</translation>
    </message>
    <message>
        <location filename="../algorithms/suggest.py" line="44"/>
        <source>Extent</source>
        <translation>Omvang</translation>
    </message>
    <message>
        <location filename="../algorithms/suggest.py" line="46"/>
        <source>Squares to label next</source>
        <translation>Vierkanten om nu te labelen</translation>
    </message>
    <message>
        <location filename="../algorithms/suggest.py" line="47"/>
        <source>Squares proposed</source>
        <translation>Voorgestelde vierkanten</translation>
    </message>
    <message>
        <location filename="../algorithms/suggest.py" line="57"/>
        <source>LABELS: not a valid polygon layer</source>
        <translation>LABELS: geen geldige polygonenlaag</translation>
    </message>
    <message>
        <location filename="../dock.py" line="171"/>
        <source>Profiles</source>
        <translation>Profielen</translation>
    </message>
    <message>
        <location filename="../dock.py" line="173"/>
        <source>Curves</source>
        <translation>Curven</translation>
    </message>
    <message>
        <location filename="../dock.py" line="440"/>
        <source>Number of 5 x 5 px squares to propose</source>
        <translation>Aantal voor te stellen vierkanten van 5 x 5 px</translation>
    </message>
    <message>
        <location filename="../dock.py" line="441"/>
        <source>Where to label next</source>
        <translation>Waar nu labelen</translation>
    </message>
    <message>
        <location filename="../dock.py" line="441"/>
        <source>Propose small squares where the model is least sure, spread over the area and the predicted classes, away from the label layer&apos;s polygons: label them and fine-tune again</source>
        <translation>Stel kleine vierkanten voor waar het model het minst zeker is, gespreid over het gebied en de voorspelde klassen, weg van de polygonen van de labellaag: label ze en stem opnieuw fijn af</translation>
    </message>
    <message>
        <location filename="../dock.py" line="453"/>
        <source>Suggest</source>
        <translation>Voorstellen</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1188"/>
        <source>No Sentinel-2 or Sentinel-1 layers checked (Data tab)</source>
        <translation>Geen Sentinel-2- of Sentinel-1-lagen aangevinkt (tabblad Gegevens)</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1210"/>
        <source>S4 class profiles</source>
        <translation>S4 klassenprofielen</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1211"/>
        <source>Class profiles of &apos;{0}&apos; ({1})</source>
        <translation>Klassenprofielen van '{0}' ({1})</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1216"/>
        <source>Class profiles failed: {error}</source>
        <translation>Klassenprofielen mislukt: {error}</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1222"/>
        <source>Class profiles of {0} classes; {1} outlier polygon(s)</source>
        <translation>Klassenprofielen van {0} klassen; {1} uitschieter(s)</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1273"/>
        <source>No layers checked (Data tab) for this model</source>
        <translation>Geen lagen aangevinkt (tabblad Gegevens) voor dit model</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1315"/>
        <source>S4 where to label next</source>
        <translation>S4 waar nu labelen</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1308"/>
        <source>Looking for where {0} is least sure</source>
        <translation>Zoeken waar {0} het minst zeker is</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1313"/>
        <source>Suggestions failed: {error}</source>
        <translation>Voorstellen mislukt: {error}</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1319"/>
        <source>Could not open the suggestions {0}</source>
        <translation>Kon de voorstellen {0} niet openen</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1322"/>
        <source>No square to suggest: every valid place is labelled already or lies on a class border; label fewer areas or map a larger extent</source>
        <translation>Geen vierkant voor te stellen: elke geldige plek is al gelabeld of ligt op een klassengrens; label minder gebieden of karteer een grotere omvang</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1333"/>
        <source>{0} squares to label added ({1}): label them in the label layer and fine-tune again</source>
        <translation>{0} te labelen vierkanten toegevoegd ({1}): label ze in de labellaag en stem opnieuw fijn af</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1425"/>
        <source>Training curves ({0} epochs recorded)</source>
        <translation>Trainingscurven ({0} epochs opgeslagen)</translation>
    </message>
    <message>
        <location filename="../plots.py" line="43"/>
        <source>Plots need matplotlib ({error}): on Debian/Ubuntu install python3-matplotlib; QGIS on Windows and macOS includes it</source>
        <translation>Grafieken vereisen matplotlib ({error}): installeer op Debian/Ubuntu python3-matplotlib; QGIS op Windows en macOS bevat het</translation>
    </message>
    <message>
        <location filename="../plots.py" line="102"/>
        <source>Class profiles</source>
        <translation>Klassenprofielen</translation>
    </message>
    <message>
        <location filename="../plots.py" line="103"/>
        <source>NDVI (Sentinel-2, cloud-masked) and VV / VH (Sentinel-1, dB) over time per class of the label layer (Train tab), from the checked layers; polygons whose profile sits far from their class are listed below</source>
        <translation>NDVI (Sentinel-2, wolken gemaskeerd) en VV / VH (Sentinel-1, dB) in de tijd per klasse van de labellaag (tabblad Trainen), uit de aangevinkte lagen; polygonen waarvan het profiel ver van hun klasse ligt, staan hieronder</translation>
    </message>
    <message>
        <location filename="../plots.py" line="110"/>
        <source>Show selected polygons</source>
        <translation>Geselecteerde polygonen tonen</translation>
    </message>
    <message>
        <location filename="../plots.py" line="117"/>
        <source>Outlier polygons (click to zoom):</source>
        <translation>Uitschieters (klik om te zoomen):</translation>
    </message>
    <message>
        <location filename="../plots.py" line="146"/>
        <source>feature {0} ({1}): {2}</source>
        <translation>object {0} ({1}): {2}</translation>
    </message>
    <message>
        <location filename="../plots.py" line="152"/>
        <source>none: every polygon&apos;s profile is near its class</source>
        <translation>geen: het profiel van elke polygoon ligt dicht bij zijn klasse</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="560"/>
        <source>Outlier threshold (within-class spreads)</source>
        <translation>Drempel voor uitschieters (spreidingen binnen de klasse)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="560"/>
        <source>Outlier ratio (distance to another class / to its own)</source>
        <translation>Verhouding voor uitschieters (afstand tot een andere klasse / tot de eigen)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="572"/>
        <source>Number of squares</source>
        <translation>Aantal vierkanten</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="572"/>
        <source>Square side (pixels)</source>
        <translation>Zijde van een vierkant (pixels)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="572"/>
        <source>Uncertainty</source>
        <translation>Onzekerheid</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="572"/>
        <source>Margin (gap between the two most probable classes)</source>
        <translation>Marge (verschil tussen de twee waarschijnlijkste klassen)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="572"/>
        <source>Entropy of the class probabilities</source>
        <translation>Entropie van de klassenkansen</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="572"/>
        <source>Random seed (ties)</source>
        <translation>Willekeurige seed (gelijke scores)</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1058"/>
        <source>Fine-tuned model saved: {0} (validation mIoU {1})</source>
        <translation>Fijnafgestemd model opgeslagen: {0} (validatie-mIoU {1})</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1158"/>
        <source>Class map added: {0}</source>
        <translation>Klassenkaart toegevoegd: {0}</translation>
    </message>
    <message>
        <location filename="../algorithms/pretrain.py" line="39"/>
        <source>Pretrains an S4 model WITHOUT labels on a Sentinel-1 and a Sentinel-2 time series of the same area (Shenoy et al., Remote Sensing 2024): a 3D U-Net learns that radar and optical pixels at the same place and time belong together (pixel-wise space-time contrastive loss) and to reconstruct one modality from the other.&lt;br&gt;&lt;br&gt;&lt;b&gt;Sentinel-1 / Sentinel-2 layers&lt;/b&gt;: one GeoTIFF per acquisition (dates read from the files); they are aligned in space (onto the Sentinel-2 grid) and time automatically.&lt;br&gt;&lt;b&gt;Epochs, crop size, batch size&lt;/b&gt;: training length and the size of the random crops; small crops and batches need less memory.&lt;br&gt;&lt;b&gt;Seed&lt;/b&gt;: makes runs repeatable.&lt;br&gt;&lt;b&gt;Objective&lt;/b&gt;: S4 (default, both sensors), MAE or DINO on one sensor (only that series is needed: &lt;i&gt;Sensor for MAE / DINO&lt;/i&gt;), or a joint S1 + S2 masked autoencoder; every objective trains the same network, so fine-tuning and mapping work the same way. Masking (share, patch size in pixels and frames, mode) is in the advanced parameters.&lt;br&gt;&lt;br&gt;Output: a pretrained checkpoint (.pt) to start &apos;S4 fine-tune on labelled polygons&apos; from. Progress and the loss per epoch are logged; Cancel stops cleanly.</source>
        <translation>Traint een S4-model voor ZONDER labels op een Sentinel-1- en een Sentinel-2-tijdreeks van hetzelfde gebied (Shenoy et al., Remote Sensing 2024): een 3D U-Net leert dat radar- en optische pixels op dezelfde plaats en hetzelfde tijdstip bij elkaar horen (contrastieve loss per pixel in ruimte en tijd) en de ene modaliteit uit de andere te reconstrueren.&lt;br&gt;&lt;br&gt;&lt;b&gt;Sentinel-1-/Sentinel-2-lagen&lt;/b&gt;: één GeoTIFF per opname (datums gelezen uit de bestanden); ze worden automatisch uitgelijnd in de ruimte (op het Sentinel-2-raster) en in de tijd.&lt;br&gt;&lt;b&gt;Epochs, uitsnedegrootte, batchgrootte&lt;/b&gt;: de duur van de training en de grootte van de willekeurige uitsneden; kleine uitsneden en batches vragen minder geheugen.&lt;br&gt;&lt;b&gt;Seed&lt;/b&gt;: maakt runs herhaalbaar.&lt;br&gt;&lt;b&gt;Doel&lt;/b&gt;: S4 (standaard, beide sensoren), MAE of DINO op één sensor (alleen die reeks is nodig: &lt;i&gt;Sensor voor MAE / DINO&lt;/i&gt;), of een gezamenlijke gemaskeerde autoencoder op S1 + S2; elk doel traint hetzelfde netwerk, dus fijnafstemmen en karteren werken op dezelfde manier. Het maskeren (aandeel, patchgrootte in pixels en beelden, modus) staat bij de geavanceerde parameters.&lt;br&gt;&lt;br&gt;Uitvoer: een voorgetraind checkpoint (.pt) om 'S4 fijnafstemmen op gelabelde polygonen' van te laten vertrekken. De voortgang en de loss per epoch worden gelogd; Annuleren stopt netjes.</translation>
    </message>
    <message>
        <location filename="../algorithms/pretrain.py" line="71"/>
        <source>{objective} pretraining on {sensor} needs {sensor} layers: give them (SENTINEL{n} or SENTINEL{n}_FOLDER) or choose the other sensor (SSL_MODALITY)</source>
        <translation>{objective}-voortraining op {sensor} vereist {sensor}-lagen: geef ze (SENTINEL{n} of SENTINEL{n}_FOLDER) of kies de andere sensor (SSL_MODALITY)</translation>
    </message>
    <message>
        <location filename="../dock.py" line="291"/>
        <source>Cannot open the pretraining dialog: {error}</source>
        <translation>Kan het voortrainingsvenster niet openen: {error}</translation>
    </message>
    <message>
        <location filename="../dock.py" line="312"/>
        <source>Self-supervised pretraining without labels on the checked layers: S4 (radar + optical), MAE or DINO on radar alone, or a joint radar-optical masked autoencoder. Its checkpoint goes into &apos;Start from&apos; below.</source>
        <translation>Zelfgestuurd voortrainen zonder labels op de aangevinkte lagen: S4 (radar + optisch), MAE of DINO op radar alleen, of een gezamenlijke radar-optische gemaskeerde autoencoder. Het checkpoint komt in 'Vertrekken van' hieronder.</translation>
    </message>
    <message>
        <location filename="../dock.py" line="330"/>
        <source>Pretrain…</source>
        <translation>Voortrainen…</translation>
    </message>
    <message>
        <location filename="../dock.py" line="337"/>
        <source>Pretrain (no labels)</source>
        <translation>Voortrainen (geen labels)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="345"/>
        <source>Objective</source>
        <translation>Doel</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="345"/>
        <source>S4: radar-optical contrastive + cross reconstruction (S1 + S2; default)</source>
        <translation>S4: contrastief radar-optisch + kruisreconstructie (S1 + S2; standaard)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="345"/>
        <source>MAE: masked autoencoding of one sensor (radar by default)</source>
        <translation>MAE: gemaskeerde autoencoder op één sensor (standaard radar)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="345"/>
        <source>DINO: self-distillation on one sensor (radar by default)</source>
        <translation>DINO: zelfdistillatie op één sensor (standaard radar)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="345"/>
        <source>Joint MAE: S1 + S2 masked together, both reconstructed</source>
        <translation>Gezamenlijke MAE: S1 + S2 samen gemaskeerd, beide gereconstrueerd</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="345"/>
        <source>Sensor for MAE / DINO</source>
        <translation>Sensor voor MAE / DINO</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="345"/>
        <source>MAE / joint MAE: share of patches hidden</source>
        <translation>MAE / gezamenlijke MAE: aandeel verborgen patches</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="345"/>
        <source>MAE / joint MAE: patch size (pixels)</source>
        <translation>MAE / gezamenlijke MAE: patchgrootte (pixels)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="345"/>
        <source>MAE / joint MAE: patch length (frames)</source>
        <translation>MAE / gezamenlijke MAE: patchlengte (beelden)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="345"/>
        <source>Joint MAE: mask mode</source>
        <translation>Gezamenlijke MAE: maskermodus</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="345"/>
        <source>Random (independent per sensor)</source>
        <translation>Willekeurig (onafhankelijk per sensor)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="345"/>
        <source>Complementary (hidden in one sensor = visible in the other)</source>
        <translation>Complementair (verborgen in de ene sensor = zichtbaar in de andere)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="345"/>
        <source>Identical (the same patches in both)</source>
        <translation>Identiek (dezelfde patches in beide)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="345"/>
        <source>DINO: views per crop</source>
        <translation>DINO: aanzichten per uitsnede</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="191"/>
        <source>Warning: {0}</source>
        <translation>Waarschuwing: {0}</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="814"/>
        <source>{name} ({label}) must be {rule}, got {value}</source>
        <translation>{name} ({label}) moet {rule} zijn, niet {value}</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="826"/>
        <source>{name}: {path} cannot be read as a layer (not a file QGIS can open, damaged, or no permission to read it): choose another file</source>
        <translation>{name}: {path} kan niet als laag gelezen worden (geen bestand dat QGIS kan openen, beschadigd of geen leesrechten): kies een ander bestand</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="830"/>
        <source>{name}: {path} does not exist</source>
        <translation>{name}: {path} bestaat niet</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="831"/>
        <source>{name} ({label}): {value!r} is not a valid value</source>
        <translation>{name} ({label}): {value!r} is geen geldige waarde</translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="202"/>
        <source>OUTPUT: could not write the table {dest}: {error}</source>
        <translation>OUTPUT: kon de tabel {dest} niet schrijven: {error}</translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="202"/>
        <source>unknown error</source>
        <translation>onbekende fout</translation>
    </message>
    <message>
        <location filename="../algorithms/evaluate.py" line="209"/>
        <source>OUTPUT: the table {dest} was not written: choose a writable folder</source>
        <translation>OUTPUT: de tabel {dest} is niet geschreven: kies een map waarin geschreven kan worden</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="631"/>
        <source>LABELS: {path} cannot be read as a polygon layer (not a file QGIS can open, damaged, or not readable: {access}): choose a GeoPackage, shapefile or GeoJSON with labelled polygons</source>
        <translation>LABELS: {path} kan niet als polygonenlaag gelezen worden (geen bestand dat QGIS kan openen, beschadigd of niet leesbaar: {access}): kies een GeoPackage, shapefile of GeoJSON met gelabelde polygonen</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="631"/>
        <source>readable</source>
        <translation>leesbaar</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="631"/>
        <source>no permission</source>
        <translation>geen leesrechten</translation>
    </message>
    <message>
        <location filename="../algorithms/segment.py" line="59"/>
        <source>Confidence (largest class probability, margin)</source>
        <translation>Betrouwbaarheid (grootste klassenkans, marge)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="579"/>
        <source>MODEL: model file not found: {0}; choose the .pt file written by &apos;S4 fine-tune on labelled polygons&apos; or its .onnx export</source>
        <translation>MODEL: modelbestand niet gevonden: {0}; kies het .pt-bestand geschreven door 'S4 fijnafstemmen op gelabelde polygonen' of de .onnx-export ervan</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="981"/>
        <source>Device: cpu (ONNX Runtime)</source>
        <translation>Apparaat: cpu (ONNX Runtime)</translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="61"/>
        <source>S4's engine needs numpy, rasterio and fiona in QGIS's own Python, and &lt;b&gt;PyTorch&lt;/b&gt; to train (and map with .pt checkpoints) or only &lt;b&gt;ONNX Runtime&lt;/b&gt; to map with an ONNX export of a model (s4 export-onnx). Missing packages are installed with pip into a folder of your QGIS profile; the packages QGIS ships (numpy, GDAL, PyQt…) are pinned and never replaced.</source>
        <translation>De engine van S4 heeft numpy, rasterio en fiona nodig in QGIS' eigen Python, en &lt;b&gt;PyTorch&lt;/b&gt; om te trainen (en te karteren met .pt-checkpoints) of alleen &lt;b&gt;ONNX Runtime&lt;/b&gt; om te karteren met een ONNX-export van een model (s4 export-onnx). Ontbrekende pakketten worden met pip geïnstalleerd in een map van je QGIS-profiel; de pakketten die QGIS meelevert (numpy, GDAL, PyQt…) liggen vast en worden nooit vervangen.</translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="78"/>
        <source>training (PyTorch, CPU or CUDA)</source>
        <translation>trainen (PyTorch, CPU of CUDA)</translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="79"/>
        <source>mapping only (ONNX Runtime)</source>
        <translation>alleen karteren (ONNX Runtime)</translation>
    </message>
    <message>
        <location filename="../dialogs/dependencies_dialog.py" line="109"/>
        <source>Install for:</source>
        <translation>Installeren voor:</translation>
    </message>
    <message>
        <location filename="../styling.py" line="192"/>
        <source>could not open the confidence raster {path}</source>
        <translation>kon het betrouwbaarheidsraster {path} niet openen</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="513"/>
        <source>Tile size (pixels; 0 = automatic)</source>
        <translation>Tegelgrootte (pixels; 0 = automatisch)</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="513"/>
        <source>Tile overlap (pixels; -1 = automatic)</source>
        <translation>Tegeloverlap (pixels; -1 = automatisch)</translation>
    </message>
    <message>
        <location filename="../dock.py" line="320"/>
        <source>Pretrain</source>
        <translation>Voortrainen</translation>
    </message>
    <message>
        <location filename="../dock.py" line="320"/>
        <source>Pretrain here with the defaults of s4:pretrain and this objective; the loss is drawn live in the Curves tab</source>
        <translation>Hier voortrainen met de standaardwaarden van s4:pretrain en dit doel; de loss wordt live getekend in het tabblad Curven</translation>
    </message>
    <message>
        <location filename="../dock.py" line="330"/>
        <source>Every pretraining option, in the algorithm&apos;s dialog</source>
        <translation>Alle opties voor voortrainen, in het venster van het algoritme</translation>
    </message>
    <message>
        <location filename="../dock.py" line="964"/>
        <source>Pretraining ({0}) on the checked layers, no labels</source>
        <translation>Voortrainen ({0}) op de aangevinkte lagen, zonder labels</translation>
    </message>
    <message>
        <location filename="../dock.py" line="977"/>
        <source>Pretrained model saved: {0} (set as &apos;Start from&apos;)</source>
        <translation>Voorgetraind model opgeslagen: {0} (ingesteld als 'Vertrekken van')</translation>
    </message>
    <message>
        <location filename="../dock.py" line="972"/>
        <source>Pretraining cancelled</source>
        <translation>Voortrainen geannuleerd</translation>
    </message>
    <message>
        <location filename="../dock.py" line="972"/>
        <source>Pretraining failed: {error}</source>
        <translation>Voortrainen mislukt: {error}</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="660"/>
        <source>{parameter}: {error}</source>
        <translation>{parameter}: {error}</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1046"/>
        <source>Fine-tuning cancelled; the best model of the finished epochs is {0}</source>
        <translation>Fijnafstemmen geannuleerd; het beste model van de afgewerkte epochs is {0}</translation>
    </message>
    <message>
        <location filename="../dock.py" line="1050"/>
        <source>Fine-tuning cancelled; no model was written</source>
        <translation>Fijnafstemmen geannuleerd; er is geen model geschreven</translation>
    </message>
    <message>
        <location filename="../algorithms/finetune.py" line="24"/>
        <source>Trains an S4 model to map your classes from a few labelled polygons.&lt;br&gt;&lt;br&gt;&lt;b&gt;Sentinel-1 / Sentinel-2 layers&lt;/b&gt;: one GeoTIFF per acquisition; only the series of the inference modality is used (the model will map from that sensor, or from both together).&lt;br&gt;&lt;b&gt;Labels&lt;/b&gt;: polygons of known classes (a memory layer or a layer being edited is fine); &lt;b&gt;Class field&lt;/b&gt;: the field with the class names.&lt;br&gt;&lt;b&gt;Pretrained model&lt;/b&gt;: optional checkpoint from &apos;S4 pretrain&apos;; without one the network is trained from scratch (usually worse with few labels).&lt;br&gt;&lt;b&gt;Inference modality&lt;/b&gt;: s2 (optical), s1 (radar) or both (S1 + S2 together; best after joint MAE pretraining; mapping then needs both series too).&lt;br&gt;&lt;b&gt;Radar: VV/VH ratio&lt;/b&gt; (advanced): adds VV - VH (dB) as a third S1 band when training from scratch; a pretrained model&apos;s own choice is always followed.&lt;br&gt;&lt;b&gt;Head&lt;/b&gt; (advanced): the default keeps the pretrained network frozen and trains an ensemble of small per-pixel classifiers on each pixel&apos;s monthly series and the network&apos;s features, then smooths the map inside fields (seconds on a CPU; it beat a Random Forest on real sites, see docs/benchmarks.md). &apos;3D U-Net fine-tuning&apos; is the paper&apos;s recipe: &lt;b&gt;epochs, crop size, batch size&lt;/b&gt;, freezing the encoder and class weighting apply to it.&lt;br&gt;&lt;b&gt;Input&lt;/b&gt; (advanced): monthly cloud-free composites by default.&lt;br&gt;&lt;b&gt;Map resolution&lt;/b&gt; (advanced): pixel size in the layers&apos; CRS units (0 = the imagery&apos;s own grid); &apos;S4 segment&apos; maps on the same resolution.&lt;br&gt;A share of the polygons is held out to report a validation mIoU.&lt;br&gt;&lt;br&gt;Output: the fine-tuned checkpoint (.pt) for &apos;S4 segment time series&apos;. The loss and the validation mIoU are logged per epoch; Cancel stops cleanly.</source>
        <translation>Traint een S4-model om je klassen te karteren uit enkele gelabelde polygonen.&lt;br&gt;&lt;br&gt;&lt;b&gt;Sentinel-1-/Sentinel-2-lagen&lt;/b&gt;: één GeoTIFF per opname; alleen de reeks van de modaliteit voor de kaart wordt gebruikt (het model kartert met die sensor, of met beide samen).&lt;br&gt;&lt;b&gt;Labels&lt;/b&gt;: polygonen van gekende klassen (een geheugenlaag of een laag in bewerking kan ook); &lt;b&gt;Klasseveld&lt;/b&gt;: het veld met de klassennamen.&lt;br&gt;&lt;b&gt;Voorgetraind model&lt;/b&gt;: optioneel checkpoint van 'S4 voortrainen'; zonder wordt het netwerk van nul getraind (met weinig labels meestal slechter).&lt;br&gt;&lt;b&gt;Modaliteit voor de kaart&lt;/b&gt;: s2 (optisch), s1 (radar) of both (S1 + S2 samen; het best na gezamenlijke MAE-voortraining; karteren vraagt dan ook beide reeksen).&lt;br&gt;&lt;b&gt;Radar: VV/VH-verhouding&lt;/b&gt; (geavanceerd): voegt VV - VH (dB) toe als derde S1-band bij trainen van nul; de eigen keuze van een voorgetraind model wordt altijd gevolgd.&lt;br&gt;&lt;b&gt;Kop&lt;/b&gt; (geavanceerd): de standaard houdt het voorgetrainde netwerk bevroren en traint een ensemble van kleine classificatoren per pixel op de maandreeks van elke pixel en de kenmerken van het netwerk, en vlakt de kaart daarna af binnen percelen (seconden op een CPU; dit deed beter dan een Random Forest op echte gebieden, zie docs/benchmarks.md). '3D U-Net-fijnafstemming' is het recept uit het artikel: &lt;b&gt;epochs, uitsnedegrootte, batchgrootte&lt;/b&gt;, het bevriezen van de encoder en de klassegewichten gelden ervoor.&lt;br&gt;&lt;b&gt;Invoer&lt;/b&gt; (geavanceerd): standaard wolkenvrije maandcomposieten.&lt;br&gt;&lt;b&gt;Kaartresolutie&lt;/b&gt; (geavanceerd): pixelgrootte in de CRS-eenheden van de lagen (0 = het eigen raster van de beelden); 'S4 segmenteren' kartert met dezelfde resolutie.&lt;br&gt;Een deel van de polygonen wordt apart gehouden om een validatie-mIoU te rapporteren.&lt;br&gt;&lt;br&gt;Uitvoer: het fijnafgestemde checkpoint (.pt) voor 'S4 tijdreeksen segmenteren'. De loss en de validatie-mIoU worden per epoch gelogd; Annuleren stopt netjes.</translation>
    </message>
    <message>
        <location filename="../algorithms/segment.py" line="29"/>
        <source>Maps crop / land-cover classes over a scene from a Sentinel-2 or a Sentinel-1 image time series with a fine-tuned S4 model.&lt;br&gt;&lt;br&gt;&lt;b&gt;Sentinel-2 / Sentinel-1 layers&lt;/b&gt;: one GeoTIFF per acquisition; the acquisition date and the sensor are read from each file (tag ACQUISITION_DATETIME or YYYYMMDD in the name, band names). Give the series of the modality the model was fine-tuned for (one sensor, or both for a model fine-tuned for both).&lt;br&gt;&lt;b&gt;Model&lt;/b&gt;: a fine-tuned checkpoint (.pt) from &apos;S4 fine-tune on labelled polygons&apos; (needs PyTorch), or its ONNX export (.onnx, from &apos;s4 export-onnx&apos;), which needs only ONNX Runtime.&lt;br&gt;&lt;b&gt;Extent&lt;/b&gt;: optional part of the scene to map (default: the whole series).&lt;br&gt;&lt;b&gt;Tile size / overlap&lt;/b&gt;: the scene is predicted in overlapping tiles; 0 / -1 = automatic (overlap = how far each pixel&apos;s inputs reach through the network, so results equal one whole-scene pass; tiles as large as ~2 GB of activations allows); reduce the tile size when the GPU runs out of memory.&lt;br&gt;&lt;br&gt;Output: a class raster (GeoTIFF, 255 = nodata) styled with class names and colours (style saved beside it as .qml) and, optionally, class polygons in a GeoPackage (fields class_id, class_name, area_m2; style stored in the GeoPackage) and the confidence (band 1: the largest class probability, band 2: its margin over the second class; styled red = unsure to green = sure).</source>
        <translation>Brengt gewas- / landbedekkingsklassen van een scène in kaart uit een Sentinel-2- of Sentinel-1-beeldtijdreeks met een fijnafgestemd S4-model.&lt;br&gt;&lt;br&gt;&lt;b&gt;Sentinel-2-/Sentinel-1-lagen&lt;/b&gt;: één GeoTIFF per opname; de opnamedatum en de sensor worden uit elk bestand gelezen (tag ACQUISITION_DATETIME of YYYYMMDD in de naam, bandnamen). Geef de reeks van de modaliteit waarop het model fijnafgestemd is (één sensor, of beide voor een model dat voor beide fijnafgestemd is).&lt;br&gt;&lt;b&gt;Model&lt;/b&gt;: een fijnafgestemd checkpoint (.pt) van 'S4 fijnafstemmen op gelabelde polygonen' (heeft PyTorch nodig), of de ONNX-export ervan (.onnx, van 's4 export-onnx'), die alleen ONNX Runtime nodig heeft.&lt;br&gt;&lt;b&gt;Extent&lt;/b&gt;: optioneel deel van de scène om te karteren (standaard: de hele reeks).&lt;br&gt;&lt;b&gt;Tegelgrootte / -overlap&lt;/b&gt;: de scène wordt in overlappende tegels voorspeld; 0 / -1 = automatisch (overlap = hoe ver de invoer van elke pixel door het netwerk reikt, zodat het resultaat gelijk is aan één doorgang over de hele scène; tegels zo groot als ~2 GB aan activaties toelaat); verklein de tegelgrootte als de GPU geen geheugen meer heeft.&lt;br&gt;&lt;br&gt;Uitvoer: een klassenraster (GeoTIFF, 255 = nodata) opgemaakt met klassennamen en -kleuren (stijl ernaast bewaard als .qml) en, optioneel, klassenpolygonen in een GeoPackage (velden class_id, class_name, area_m2; stijl bewaard in de GeoPackage) en de betrouwbaarheid (band 1: de grootste klassenkans, band 2: de marge op de tweede klasse; opgemaakt van rood = onzeker tot groen = zeker).</translation>
    </message>
    <message>
        <location filename="../dock.py" line="375"/>
        <source>Radar input: VV, VH and their ratio (VV - VH in dB), as the SAR pretraining literature uses. Applies to pretraining here and to fine-tuning from scratch; a pretrained model&apos;s own choice is always followed.</source>
        <translation>Radarinvoer: VV, VH en hun verhouding (VV - VH in dB), zoals de literatuur over SAR-voortraining ze gebruikt. Geldt voor voortrainen hier en voor fijnafstemmen van nul; de eigen keuze van een voorgetraind model wordt altijd gevolgd.</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="337"/>
        <source>Radar: add the VV/VH ratio (VV - VH in dB) as a third band</source>
        <translation>Radar: de VV/VH-verhouding (VV - VH in dB) als derde band toevoegen</translation>
    </message>
    <message>
        <location filename="../../s4_core/settings.py" line="450"/>
        <source>both: Sentinel-1 + Sentinel-2 together</source>
        <translation>both: Sentinel-1 + Sentinel-2 samen</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="821"/>
        <source>{name}: cannot read {path}: you have no permission to read it; ask its owner for read access (e.g. chmod a+r), or copy it to a folder of yours</source>
        <translation>{name}: kan {path} niet lezen: u hebt geen leesrechten op dit bestand; vraag de eigenaar om leestoegang (bv. chmod a+r) of kopieer het naar een eigen map</translation>
    </message>
</context>
</TS>
