"""A real MCP server, written with the SDK's FastMCP, for the client's tests and benchmark.

    python -m tests.fakes.mcp_server stdio
    python -m tests.fakes.mcp_server http PORT

Its tools cover what a client meets: read-only and changing tools, text, structured and image
results, an error, a tool that hangs, one that kills the server, one that describes the HTTP
request's Authorization header, one that adds a tool and says so (`tools/list_changed`), plus a
resource and a prompt. `write_note` appends to the file named by `FAKE_MCP_NOTES`, so a test can
tell whether it really ran; `show_token` returns the `FAKE_MCP_TOKEN` it was started with, as a
leaky server would.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys
from pathlib import Path

from mcp.server.fastmcp import Context, FastMCP
from mcp.types import ImageContent, ToolAnnotations

READ_ONLY = ToolAnnotations(readOnlyHint=True)
# A 1×1 PNG.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
)


def build(host: str = "127.0.0.1", port: int = 0) -> FastMCP:
    server = FastMCP("fake-tools", host=host, port=port, log_level="WARNING")

    @server.tool(annotations=READ_ONLY)
    def echo(text: str) -> str:
        """Say the text back."""
        return f"echo: {text}"

    @server.tool(annotations=READ_ONLY)
    def add(a: int, b: int) -> dict[str, int]:
        """Add two numbers."""
        return {"sum": a + b}

    @server.tool()
    def write_note(text: str) -> str:
        """Append a line to the notes file."""
        with Path(os.environ["FAKE_MCP_NOTES"]).open("a", encoding="utf-8") as notes:
            notes.write(text + "\n")
        return "saved"

    @server.tool(annotations=READ_ONLY)
    def picture() -> ImageContent:
        """A tiny picture."""
        return ImageContent(
            type="image", data=base64.b64encode(PIXEL).decode(), mimeType="image/png"
        )

    @server.tool(annotations=READ_ONLY)
    def fail() -> str:
        """Always fails."""
        raise ValueError("the fake tool failed on purpose")

    @server.tool(annotations=READ_ONLY)
    async def slow(seconds: float) -> str:
        """Wait, then answer."""
        await asyncio.sleep(seconds)
        return "done waiting"

    @server.tool(annotations=READ_ONLY)
    def crash() -> str:
        """End the server's process at once."""
        os._exit(3)

    @server.tool(annotations=READ_ONLY)
    def show_token() -> str:
        """Return the token the server was started with."""
        return f"my token is {os.environ.get('FAKE_MCP_TOKEN', '')}"

    @server.tool(annotations=READ_ONLY)
    def auth_header(ctx: Context) -> str:
        """Describe the Authorization header of the HTTP request (without repeating it)."""
        request = ctx.request_context.request
        value = request.headers.get("authorization", "") if request is not None else ""
        return f"authorization: {len(value)} characters, ending {value[-3:]!r}"

    @server.tool(annotations=READ_ONLY)
    async def grow(ctx: Context) -> str:
        """Add the tool `late` and tell the client."""

        def late() -> str:
            """A tool added while running."""
            return "late tool ran"

        server.add_tool(late, annotations=READ_ONLY)
        await ctx.session.send_tool_list_changed()
        return "added the tool late"

    @server.resource("notes://readme", name="readme", description="What the notes are")
    def readme() -> str:
        return "Notes written by write_note."

    @server.prompt(description="Ask for a summary")
    def summarise(topic: str) -> str:
        return f"Summarise {topic}."

    return server


def main(argv: list[str]) -> None:
    if argv[:1] == ["http"]:
        build(port=int(argv[1])).run(transport="streamable-http")
    else:
        build().run(transport="stdio")


if __name__ == "__main__":
    main(sys.argv[1:])
