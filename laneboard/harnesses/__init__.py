"""How to drive one kind of agent: the tmux relay and one harness per agent kind.

Harnesses know nothing of routing or config files: the lanes layer hands each one a
`HarnessSpec` (see `base.py`) with everything already resolved.
"""
