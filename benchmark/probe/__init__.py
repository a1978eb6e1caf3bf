"""Frames in, predictions and metric values out: protocols (probe hyper-parameters and presets), the
batched MLP, ensembles, weighted layers, kNN, stopping rules, metrics and the scorability check. May
import ``core``, ``data`` and ``embed``.
"""
