"""The version of layerwise, written into model files and ONNX models."""

__version__ = "0.1.0"
