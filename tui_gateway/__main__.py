"""`python -m tui_gateway`: serve one terminal client on stdin and stdout."""

from tui_gateway.entry import main

raise SystemExit(main())
