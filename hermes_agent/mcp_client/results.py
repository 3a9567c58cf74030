"""An MCP tool's result as the text a tool result is: text as it is, files into the store.

Images, audio and binary resources are kept in the attachment store under the conversation
(the model can name them as `attachment:<id>`, and the user can open them). Structured content
is given as JSON only when there is no other content: servers repeat it as text (the protocol
asks them to), and FastMCP fills it from every return value. A result the server marks as an error
becomes a ToolError, which the model reads as one.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable

from mcp import types

from hermes_agent.errors import ToolError

# (bytes, file name) -> "attachment:<id>"
StoreFile = Callable[[bytes, str], str]

_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "audio/wav": ".wav",
    "audio/mpeg": ".mp3",
}


def result_text(result: types.CallToolResult, tool: str, store: StoreFile) -> str:
    parts = [_block_text(block, tool, store) for block in result.content]
    text = "\n".join(p for p in parts if p)
    if not result.content and result.structuredContent is not None:
        text = json.dumps(result.structuredContent, ensure_ascii=False, sort_keys=True)
    if result.isError:
        raise ToolError(text or f"the MCP tool {tool!r} failed without saying why")
    return text or "(the tool returned nothing)"


def _block_text(block: types.ContentBlock, tool: str, store: StoreFile) -> str:
    if isinstance(block, types.TextContent):
        return block.text
    if isinstance(block, types.ImageContent | types.AudioContent):
        kind = "image" if isinstance(block, types.ImageContent) else "audio"
        return _stored(block.data, block.mimeType, f"{tool}-{kind}", store)
    if isinstance(block, types.ResourceLink):
        return f"[resource {block.name}: {block.uri}]"
    if isinstance(block, types.EmbeddedResource):
        resource = block.resource
        if isinstance(resource, types.TextResourceContents):
            return f"[resource {resource.uri}]\n{resource.text}"
        return _stored(resource.blob, resource.mimeType or "", f"{tool}-resource", store)
    return f"[{getattr(block, 'type', 'unknown')} content, not shown]"


def _stored(data: str, mime: str, stem: str, store: StoreFile) -> str:
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return f"[{mime or 'binary'} content that was not valid base64, dropped]"
    name = stem + _EXTENSIONS.get(mime, ".bin")
    return f"[{mime or 'file'} saved as {store(raw, name)}, {len(raw):,} bytes]"
