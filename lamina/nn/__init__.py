"""``lamina.nn``: layers and blocks in the PyTorch idiom. ``lamina.nn.functional`` holds the operators."""
from lamina.nn import functional
