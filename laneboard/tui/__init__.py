"""The cockpit: a Textual client of the lanes core (supervisor, router, artifact store).

Nothing outside this package imports it. Build the app with `make_app` (the CLI and the
tests share that one factory):

    from laneboard.tui.app import make_app
    make_app(loaded).run()
"""
