"""The lane gateway: every model request of a lane passes laneboard on 127.0.0.1.

Why a gateway: laneboard's promises (no secret reaches a provider, fences hold, usage is
counted, failover works) used to hold only where a person types. Agent CLIs talk to their
provider directly, so a secret an agent reads from a file, or a denied command a model
asks for, went past laneboard unseen. One HTTP process between each lane's CLI and its
provider sees every request and every response, whatever the harness:

- `server`: the aiohttp app (127.0.0.1 only; a lane is named by an unguessable path token);
- `registry`: the lanes the gateway serves, persisted in the private state dir so a
  restarted gateway keeps serving the tokens lanes already hold;
- `upstream`: forwarding with per-request failover and per-provider cooldowns;
- `route_auth`: whose credential a fallback or routed call carries (the lane's headers
  only to its own provider; another gets its own key from the gateway's environment);
- `key_handoff`: how those keys reach a gateway spawned in tmux (a FIFO, never a file);
- `framing`: SSE / NDJSON splitters, so streams are relayed event by event;
- `protocols`: what differs between Anthropic Messages, OpenAI Responses/Chat and Ollama
  (usage fields, error bodies in each protocol's own shape);
- `wire_fence` and `relays`: tool calls checked against `fences.deny`, a denied call
  replaced by a refusal the agent reads;
- `counters`: tokens and cost per lane; `client`: start-or-adopt and how a lane is
  pointed at the gateway.

This package never imports `laneboard.lanes` or the TUI: the supervisor starts it, not the
other way round.
"""
