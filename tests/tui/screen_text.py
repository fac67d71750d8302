def screen_text(app) -> str:
    strips = app.screen._compositor.render_strips()
    return "\n".join(s.text for s in strips)
