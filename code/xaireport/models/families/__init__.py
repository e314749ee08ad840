"""One module per model family, each registering its builder(s) (:func:`~xaireport.models.registry.register_model`,
:func:`~xaireport.models.registry.register_prefix`) when imported: ``resnet`` (``resnet50``, ``resnet18``),
``places365`` (``resnet18-places365``), ``efficientnet_lite`` (``efficientnet-lite0``), ``timm_models``
(``timm:<name>``), ``torchvision_models`` (``torchvision:<name>``). The registry imports a family's module when one
of its models is first needed; every cache key of a model's results holds that module's code
(:func:`xaireport.results.keys.model_parts`), so editing one family's builder recomputes no other family's results.
This ``__init__`` holds no code."""
