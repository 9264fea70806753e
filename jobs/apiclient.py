"""The `openai` client for OpenAI and OpenRouter, and the one sentence each failure becomes.

The client itself retries 408, 409, 429 and 5xx answers and timeouts, honouring a server's
`retry-after` (up to two minutes; a longer one gets its own backoff, at most 8 s a time)
and backing off exponentially otherwise; `max_retries` sets
how many times. What is left when it gives up is turned into relayq's error tree here, so the
summarizer and the transcription backends say the same things. A key is only ever handed to
the client: no sentence here includes one, and a 401's server text (which can echo part of a
key) is never repeated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from jobs.errors import BackendFailed, ConfigError, RelayqError

if TYPE_CHECKING:
    import openai

__all__ = ["Provider", "explain", "make_client", "where"]


@dataclass(frozen=True)
class Provider:
    """Who is called, and which settings a user would change when something is wrong."""

    name: str  # "openai" or "openrouter"
    key_variable: str  # OPENAI_API_KEY
    base_variable: str  # OPENAI_BASE_URL
    model_variable: str  # RELAYQ_OPENAI_MODEL, RELAYQ_SUMMARY_MODEL


def make_client(
    key: str, base_url: str | None, *, max_retries: int, timeout_s: float
) -> openai.OpenAI:
    import openai

    return openai.OpenAI(api_key=key, base_url=base_url, max_retries=max_retries, timeout=timeout_s)


def where(client: openai.OpenAI) -> str:
    """The host a client talks to, for messages."""
    return urlsplit(str(client.base_url)).hostname or "the API"


def explain(
    err: Exception, *, host: str, provider: Provider, model: str, what: str, retries: int
) -> RelayqError:
    """The sentence for an error the `openai` client raised on a `what` request."""
    import openai

    if isinstance(err, openai.AuthenticationError):
        return ConfigError(
            f"{host} refused the key in {provider.key_variable} (HTTP 401); check the key"
        )
    if isinstance(err, openai.PermissionDeniedError):
        return ConfigError(
            f"{host} does not let this key use {model!r} (HTTP 403); check the key's "
            f"permissions or set {provider.model_variable} to another model"
        )
    if isinstance(err, openai.NotFoundError):
        return ConfigError(
            f"{host} does not know the model {model!r}; set {provider.model_variable} to one "
            "it offers"
        )
    if isinstance(err, openai.RateLimitError):
        return BackendFailed(
            f"{host} kept answering 'too many requests' (429) after {retries} retries; "
            "try again later"
        )
    if isinstance(err, openai.BadRequestError):
        body = err.body if isinstance(err.body, dict) else {}
        said = " ".join(str(body.get("message") or "no reason given").split())[:160]
        return BackendFailed(
            f"{host} refused the {what} request (HTTP 400: {said}); check {provider.model_variable}"
        )
    if isinstance(err, openai.APIStatusError):
        return BackendFailed(
            f"{host} answered HTTP {err.status_code} to the {what} request; try again later"
        )
    if isinstance(err, openai.APIConnectionError):  # APITimeoutError is one of these
        return BackendFailed(
            f"could not reach {host} for the {what} (connection failed or timed out); "
            f"check the runner's network, or {provider.base_variable}"
        )
    return BackendFailed(f"the {what} request to {host} failed ({type(err).__name__}); try again")
