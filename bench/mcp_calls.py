"""MCP client figures, printed as JSON (medians, in milliseconds).

    .venv/bin/python bench/mcp_calls.py [--quick]

- `call_overhead_ms`: what a tool call over stdio to the FastMCP server of tests/fakes adds
  beyond the tool's own time (a tool that sleeps 10 ms, called through the agent's tool
  handler, minus those 10 ms): the JSON-RPC round trip, the SDK's validation and the hop
  between the agent's thread and the client's event loop.
- `echo_call_ms`: a whole call of a tool that does nothing.
- `web_start_ms` / `web_start_3_servers_ms`: `hermes web` from launch to its first /health
  answer, without MCP servers and with three configured (they start with the first
  conversation, not with the process), and `mcp_processes_at_start`: how many were started.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

# First: puts the repository on sys.path and sets HERMES_HOME for the imports below.
from common import median_ms, ms

# isort: split
import psutil
import yaml

from hermes_agent.mcp_client import McpHub
from hermes_agent.mcp_client.config import ServerConfig, save_server
from hermes_agent.tools.approval import ApprovalPolicy
from hermes_agent.tools.registry import ToolContext
from tests.support import REPO_ROOT, ServerProcess

TARGETS_MS = {"call_overhead_ms": 5.0}
SLEEP = 0.01
SERVER = {"command": sys.executable, "args": ["-m", "tests.fakes.mcp_server", "stdio"]}


def bench_calls(root: Path, runs: int) -> dict[str, float]:
    env = {"HERMES_HOME": str(root / "home")}
    save_server("fake", ServerConfig(**SERVER, cwd=str(REPO_ROOT)), env)
    hub = McpHub(env)
    try:
        tools = {tool.name: tool for tool in hub.tools()}
        ctx = ToolContext(workspace=root, approval=ApprovalPolicy())
        echo, slow = tools["mcp_fake_echo"], tools["mcp_fake_slow"]
        for _ in range(20):  # warm up both sides
            echo.handler({"text": "warm"}, ctx)
        echo_ms = median_ms(lambda: echo.handler({"text": "hello"}, ctx), runs * 10)
        slow_ms = median_ms(lambda: slow.handler({"seconds": SLEEP}, ctx), runs * 5)
    finally:
        hub.close()
    return {"call_overhead_ms": round(slow_ms - ms(SLEEP), 3), "echo_call_ms": echo_ms}


def web_start(root: Path, servers: int) -> tuple[float, int]:
    home = root / "hermes-home"
    home.mkdir(parents=True, exist_ok=True)
    entries = {f"s{n}": {**SERVER, "cwd": str(REPO_ROOT)} for n in range(servers)}
    (home / "config.yaml").write_text(yaml.safe_dump({"mcp_servers": entries} if servers else {}))
    process = ServerProcess(root)
    started = time.perf_counter()
    process.start()
    elapsed = time.perf_counter() - started
    children = psutil.Process(process.proc.pid).children(recursive=True)
    process.stop()
    return ms(elapsed), sum("tests.fakes.mcp_server" in " ".join(c.cmdline()) for c in children)


def bench_start(root: Path, runs: int) -> dict[str, float]:
    plain, with_servers, started = [], [], 0
    for n in range(runs):
        plain.append(web_start(root / f"plain-{n}", 0)[0])
        elapsed, count = web_start(root / f"three-{n}", 3)
        with_servers.append(elapsed)
        started = max(started, count)
    return {
        "web_start_ms": statistics.median(plain),
        "web_start_3_servers_ms": statistics.median(with_servers),
        "mcp_processes_at_start": started,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    runs = 3 if parser.parse_args().quick else 9
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        figures = {**bench_calls(root, runs), **bench_start(root, runs)}
    print(json.dumps({"figures": figures, "targets": TARGETS_MS}, indent=2))


if __name__ == "__main__":
    main()
