"""How closely our implementations must equal the libraries they replace: the test suite asserts these, and the
chapters quote them (so a prose number cannot drift from what is tested). Nothing that computes imports this
module, so changing a tolerance recomputes no cached result."""

#: Largest absolute difference between our AblationCAM/ScoreCAM maps (in [0, 1]) and the ``grad-cam`` package's.
CAM_MAP_ATOL = 1e-3

#: Largest absolute difference between our LIME weights and the LIME tutorial pipeline's for the same seed
#: (segments and masks are asserted equal).
LIME_WEIGHTS_ATOL = 1e-5

#: Largest absolute difference between chapter 6's Gini sparseness and Quantus' ``Sparseness`` on the same map
#: (Quantus adds 1e-7 to every value first).
QUANTUS_SPARSENESS_ATOL = 1e-6
