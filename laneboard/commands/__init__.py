"""One module per CLI command group; imported lazily by `laneboard.cli`."""
