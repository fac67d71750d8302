"""The attacker's view of laneboard's promises: each module tries to break one of them."""
