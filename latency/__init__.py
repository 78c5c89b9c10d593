"""Latency: op keys, lookup tables, live LiteRT / ONNX Runtime / adb benchmarks, exporters, calibration."""
