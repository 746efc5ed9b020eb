"""Assignment 1's plug-in (softmax, sigmoid, the cross-entropy gradient, a gradient checker and a
two-layer network): its rubrics name it with ``plugin: grader.assignments.a1``.

Importing it registers the network's check kinds (backprop), its input generators and parameter
packing (inputs), the adapter that reads the cross-entropy gradient off the network (adapters)
and its mistake finders (mistakes, imported only when a part is diagnosed: a student kit
leaves that file out).
"""
from ...plugins import mistake_finders
from . import adapters, backprop, inputs  # noqa: F401  (registration side effects)

mistake_finders(__name__ + ".mistakes", {
    "softmax": "softmax", "sigmoid": "sigmoid", "sigmoid_grad": "sigmoid_grad", "ce_grad": "ce_grad",
    "gradcheck": "gradcheck", "network": "network_mistakes"})
