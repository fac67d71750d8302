"""laneboard's base layer: the vocabulary and small tools every other layer shares.

Nothing here imports any other part of laneboard (an import-linter contract holds that),
nor pydantic or textual, so `import laneboard.core.X` is cheap (~1 ms) and the TUI, the
harnesses and the config models can all use one definition instead of keeping copies.
"""
