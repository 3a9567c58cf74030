"""HTTP plumbing shared by every listener Hermes opens: the web server and the gateway's webhook.

- `hosts`: which `Host` names a listener answers to, the defence against DNS rebinding.
- `connections`: uvicorn's HTTP/1.1 protocol with a deadline for request heads, an idle limit
  for bodies and a cap on open connections, so a client that never finishes a request cannot
  hold the server's file descriptors.
- `limits`: the process's open-file limit, raised once at start.
"""
