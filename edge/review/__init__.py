"""`edge review`: what a model gets wrong, from predictions no decision saw (torch-free).

A run is reviewed from its oof.json (out-of-fold predictions, written at train time), an export
on any labelled folder through edge.runtime.Classifier. Either way one review.json and one
self-contained review.html carry the same numbers.
"""
