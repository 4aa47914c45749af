"""DigitLab: an interactive handwritten-digit lab on TensorFlow / Keras 3."""

import os

# TensorFlow's start-up chatter (CUDA probing, oneDNN notices) is noise for a user; errors
# still show. Must be set before TensorFlow is first imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
