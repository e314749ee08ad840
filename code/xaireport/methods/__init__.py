"""The explanation methods, one module (or package) each: CAMs (:mod:`.cams`), LIME (:mod:`.lime`), CLIP-Dissect
(:mod:`.dissect`), and the measures that compare or score explanations (:mod:`.agreement`,
:mod:`.faithfulness`). No cache and no figures here: :mod:`xaireport.results` caches, :mod:`xaireport.report`
draws."""
