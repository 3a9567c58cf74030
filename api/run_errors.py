"""What a failed run tells the user: a type the UI can act on, a label, and a hint."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hermes_agent.errors import ProviderError


@dataclass(frozen=True)
class RunFailure:
    type: str  # quota_exhausted, rate_limit, auth_mismatch, model_not_found, no_response, error
    label: str
    message: str
    hint: str | None

    def event(self) -> dict:
        data = {"message": self.message, "type": self.type}
        if self.hint:
            data["hint"] = self.hint
        return data

    def marker(self) -> str:
        """The error line kept in the transcript after the user's message."""
        text = f"**{self.label}:** {self.message}"
        return f"{text}\n\n*{self.hint}*" if self.hint else text


HINTS = {
    "quota_exhausted": "Add credit with your provider, or switch to another provider in Settings.",
    "rate_limit": "The provider is limiting requests; wait a moment and try again.",
    "auth_mismatch": "Check the API key and base URL in Settings.",
    "model_not_found": "Pick a model this provider offers in Settings.",
    "no_response": "The model returned nothing. Try again, or try another model.",
    "context_length": "The conversation no longer fits the model; start a new session.",
}
KIND_TYPES = {
    "quota": ("quota_exhausted", "Out of credits"),
    "rate_limit": ("rate_limit", "Rate limit reached"),
    "auth": ("auth_mismatch", "Authentication failed"),
    "not_found": ("model_not_found", "Model not found"),
}


def classify(error: BaseException) -> RunFailure:
    """What a failure means to the user: by the provider's error kind when it has one."""
    text = _clean(str(error))
    kind = error.kind if isinstance(error, ProviderError) else None
    if kind in KIND_TYPES:
        run_type, label = KIND_TYPES[kind]
        return RunFailure(run_type, label, text, HINTS[run_type])
    if kind == "context_length":
        return RunFailure("error", "Context too long", text, HINTS["context_length"])
    return RunFailure("error", "Error", text, None)


def no_response(detail: str | None) -> RunFailure:
    message = _clean(detail or "") or "The model finished without answering."
    return RunFailure("no_response", "No response received", message, HINTS["no_response"])


def _clean(text: str) -> str:
    """Provider errors sometimes carry whole HTML pages; keep one readable line."""
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())[:500]
