"""laneboard: a terminal cockpit for multi-model agent stacks.

Kept import-free on purpose: `laneboard --help` must not pay for Textual or libtmux.
"""

__version__ = "0.1.0"
