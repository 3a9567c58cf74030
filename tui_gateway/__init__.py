"""The terminal gateway: JSON-RPC 2.0 over stdio, newline-delimited, for terminal clients.

`python -m tui_gateway` reads requests on stdin and writes replies and events on stdout; the
protocol is described in docs/tui.md. `server` holds the state, `rpc` the framing, `registry`
the method table; the methods live in `turn`, `session_methods`, `config_methods` and
`approvals`.
"""
