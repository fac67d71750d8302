"""One module per widget; each is small and talks to its screen through messages."""
