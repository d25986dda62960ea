"""Export stage: checkpoint -> TorchScript, ONNX, INT8 ONNX, OpenVINO FP32/INT8, each checked."""
