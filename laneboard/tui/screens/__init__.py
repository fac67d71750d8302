"""One module per screen: main (lanes, pane, prompt), preflight, artifacts, usage, help."""
