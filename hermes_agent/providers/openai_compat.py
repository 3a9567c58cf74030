"""Any OpenAI-compatible endpoint (OpenAI, OpenRouter, Ollama, vLLM, llama.cpp server,
LM Studio) through the official `openai` SDK, streaming with usage and tool calls.

The SDK's client does what it is good at: base URL handling, auth headers, timeouts, retries
with backoff, and typed errors for a refused request, which are mapped to `ProviderError`
kinds here. The hot path does not use its typed `chat.completions.create`: that walks every
message and tool schema through a type-driven transform on each call (milliseconds for a long
conversation) and builds a model object per streamed chunk. The body goes out pre-serialised
and the stream comes back as bytes, both handled by `openai_wire`.

Errors: a refused request (status, timeout, no connection) surfaces as the SDK's typed error
before any event; once the answer streams, failures come from its transport (`httpx2`) or from
the stream's content, and all of them leave as `ProviderError`.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from hermes_agent.errors import ProviderError
from hermes_agent.providers.base import ChatRequest, Event, error_details
from hermes_agent.providers.openai_wire import error_for, read_events, request_body

if TYPE_CHECKING:
    import httpx2

CHAT_PATH = "/chat/completions"


log = logging.getLogger(__name__)


class OpenAICompatProvider:
    name: ClassVar[str] = "openai"
    supports_tools: ClassVar[bool] = True
    needs_key: ClassVar[bool] = False  # local servers accept any key

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 120.0,
        max_retries: int = 2,
    ) -> None:
        import openai

        self.base_url = base_url
        self._input_modalities: dict[str, list[str]] | None = None
        self._client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key or "not-needed",
            timeout=timeout,
            max_retries=max_retries,
        )

    def list_models(self) -> list[str]:
        """The models the endpoint serves (OpenAI, OpenRouter, Ollama and others list them)."""
        import openai

        try:
            return sorted(model.id for model in self._client.models.list())
        except openai.APIStatusError as exc:
            raise _status_error(exc) from None
        except openai.APIError as exc:
            raise ProviderError(f"Cannot reach the model provider: {exc}", "connection") from None

    def sees_images(self, model: str) -> bool | None:
        """From the model list where it says (OpenRouter-style `architecture.input_modalities`),
        asked once per provider; None for a model it says nothing of."""
        import openai

        if self._input_modalities is None:
            self._input_modalities = {}
            try:
                for listed in self._client.models.list():
                    modalities = (getattr(listed, "architecture", None) or {}).get(
                        "input_modalities"
                    )
                    if isinstance(modalities, list):
                        self._input_modalities[listed.id] = modalities
            except openai.APIError as exc:
                log.info("the model list says nothing of images: %s", exc)
        modalities = self._input_modalities.get(model)
        return None if modalities is None else "image" in modalities

    def stream(self, request: ChatRequest, cancel: threading.Event) -> Iterator[Event]:
        import httpx2

        response = self._send(request)
        try:
            yield from read_events(response.iter_bytes(), cancel)
        except httpx2.TimeoutException:
            raise _timeout() from None
        except (httpx2.RequestError, ssl.SSLError) as exc:  # the connection dropped mid-answer
            raise self._lost(exc) from None
        finally:
            response.close()

    def _send(self, request: ChatRequest) -> httpx2.Response:
        """POST the request through the SDK's client (retries included); the streaming response.

        Asking for the transport's own response type (`cast_to`) makes the SDK hand over the
        response once its status is good, unread and unparsed. `security` asks for the API
        key as a bearer token, as `chat.completions.create` does.
        """
        import httpx2
        import openai

        try:
            return self._client.post(
                CHAT_PATH,
                cast_to=httpx2.Response,
                content=request_body(request),
                options={"security": {"bearer_auth": True}},
                stream=True,
            )
        except openai.APIStatusError as exc:
            raise _status_error(exc) from None
        except openai.APITimeoutError:
            raise _timeout() from None
        except openai.APIError as exc:
            raise self._lost(exc) from None

    def _lost(self, exc: BaseException) -> ProviderError:
        where = f" at {self.base_url}" if self.base_url else ""
        return ProviderError(
            f"Lost the connection to the model provider{where}: {exc}", "connection"
        )


def _timeout() -> ProviderError:
    return ProviderError("The model provider did not answer in time", "timeout")


def _status_error(exc: Any) -> ProviderError:
    _, message = error_details(exc)
    return error_for(exc.status_code, message)
