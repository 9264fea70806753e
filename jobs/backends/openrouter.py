"""The OpenRouter backend: its speech-to-text endpoint, or audio in a chat message.

`transcriptions` (the default) posts each chunk as base64 JSON to `/api/v1/audio/transcriptions`
(`{"model", "input_audio": {"data", "format"}, "language"}` → `{"text", "usage"}`), the shape
OpenRouter documents. `chat` sends it as an `input_audio` part to `/chat/completions`, for
models that take audio only as chat input. Both go through the `openai` client (its retries,
its errors); both return text only, timed by `jobs.backends.timing`.
"""

from __future__ import annotations

import base64
from typing import Any

from jobs.apiclient import Provider, explain, make_client, where
from jobs.backends.remote import Answer, ChunkTooLarge, RemoteBackend, RemoteLimits
from jobs.errors import BackendFailed, ConfigError

WHAT = "transcription"

__all__ = ["DEFAULT_MODEL", "ENDPOINTS", "PROVIDER", "openrouter_backend"]

# An open-weights Whisper that OpenRouter's speech-to-text endpoint serves (checked 2026-11).
DEFAULT_MODEL = "openai/whisper-large-v3"
ENDPOINTS = ("transcriptions", "chat")
PROVIDER = Provider(
    "openrouter", "OPENROUTER_API_KEY", "RELAYQ_OPENROUTER_BASE_URL", "RELAYQ_OPENROUTER_MODEL"
)
_INSTRUCTION = (
    "Transcribe this audio verbatim. Answer with the words spoken and nothing else: no "
    "introduction, no notes, no timestamps. If nobody speaks, answer with nothing."
)


def openrouter_backend(
    key: str,
    base_url: str,
    model: str | None,
    limits: RemoteLimits,
    *,
    endpoint: str = "transcriptions",
    retries: int = 5,
    timeout_s: float = 300.0,
) -> RemoteBackend:
    if endpoint not in ENDPOINTS:
        raise ConfigError(f"RELAYQ_OPENROUTER_ENDPOINT is {endpoint!r}; use transcriptions or chat")
    if model is None and endpoint == "chat":
        raise ConfigError(
            "audio through OpenRouter's chat endpoint needs a model that takes audio input: "
            "set RELAYQ_OPENROUTER_MODEL (for example google/gemini-2.5-flash)"
        )
    chosen = model or DEFAULT_MODEL
    client = make_client(key, base_url, max_retries=retries, timeout_s=timeout_s)
    host = where(client)

    def send(wav: bytes, language: str | None) -> Answer:
        import openai

        data = base64.b64encode(wav).decode("ascii")
        try:
            if endpoint == "chat":
                return Answer(_chat(client, chosen, data, language))
            body: dict[str, Any] = {
                "model": chosen,
                "input_audio": {"data": data, "format": "wav"},
            }
            if language:
                body["language"] = language
            answer = client.post("/audio/transcriptions", body=body, cast_to=object)
        except openai.APIError as err:
            if isinstance(err, openai.APIStatusError) and err.status_code == 413:
                raise ChunkTooLarge from None
            raise explain(
                err, host=host, provider=PROVIDER, model=chosen, what=WHAT, retries=retries
            ) from None
        if not isinstance(answer, dict) or not isinstance(answer.get("text"), str):
            raise BackendFailed(
                f"{host} answered the transcription request with something that is not a "
                "transcription; check RELAYQ_OPENROUTER_BASE_URL"
            )
        return Answer(answer["text"])

    # Base64 makes the body a third larger than the audio: keep the body under the limit.
    limits = RemoteLimits(limits.chunk_s, limits.max_file_bytes * 3 // 4, limits.concurrency)
    return RemoteBackend(
        PROVIDER,
        chosen,
        send,
        limits,
        {"endpoint": f"{host} {endpoint}", "timestamps": "text"},
        client.close,
    )


def _chat(client: Any, model: str, data: str, language: str | None) -> str:
    hint = f" The language is {language}." if language else ""
    completion = client.chat.completions.create(
        model=model,
        messages=[
            {"role": "system", "content": _INSTRUCTION + hint},
            {
                "role": "user",
                "content": [
                    {"type": "input_audio", "input_audio": {"data": data, "format": "wav"}}
                ],
            },
        ],
    )
    content = completion.choices[0].message.content if completion.choices else None
    return str(content or "")
