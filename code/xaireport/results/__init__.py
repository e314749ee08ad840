"""Every cached computation of the report, and the only layer that reads or writes the result cache: one module
per kind of result (:mod:`.explanations`, :mod:`.faithfulness`, :mod:`.sanity`, :mod:`.dissection`).

Chapters and the CLI call the same functions here, so a result computed by one is reused by the other. A result's
key holds everything it depends on: the settings that change it, the classifier's weights digest, the images'
bytes, and the digest of the code it runs — the computing module's import closure (plus, for a method's
explanation, the method's implementation module's), found from the import graph by
:mod:`xaireport.core.codegraph`. Editing any module a result imports recomputes it; editing a chapter, a figure
helper, the CLI or another method recomputes nothing (tested). This ``__init__`` imports nothing, so that each
module's closure is its own.
"""
