"""Audio in, clips and splits out: decoding and resampling, the Clip/Split types, dataset check and
download, split-leak checks, nested subsets for label efficiency, and the deformations of robustness
runs. May import ``benchmark.core`` only.
"""
