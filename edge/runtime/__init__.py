"""Torch-free runtime: run exported models on files, folders, videos and cameras.

Importing this package is cheap: backends import onnxruntime/OpenVINO only when loaded.
"""

from edge.runtime.classifier import Classifier, Prediction

__all__ = ["Classifier", "Prediction"]
