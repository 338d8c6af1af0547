"""Interoperation: scikit-learn estimators, ONNX export and PyTorch conversion."""
