"""What a lane is: model refs, router, fences and policy, supervisor, preflight.

Deliberately empty: importing one `laneboard.lanes.X` must not pull in the others (the
config loader alone brings pydantic, ~210 ms). Load a config with
`laneboard.lanes.loading.load`.
"""
