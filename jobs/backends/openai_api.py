"""The OpenAI backend: `/v1/audio/transcriptions` through the `openai` client, chunk by chunk.

`OPENAI_BASE_URL` points it at any OpenAI-compatible server (a self-hosted faster-whisper or
vLLM server, a proxy). Whisper models (`whisper-1`, and the whisper-* models self-hosted servers
offer) are asked for `verbose_json` with segment times; the newer models (`gpt-transcribe`,
`gpt-4o-transcribe`, ...) answer `json` with text only, which `jobs.backends.timing` times.
"""

from __future__ import annotations

from typing import Any

from jobs.apiclient import Provider, explain, make_client, where
from jobs.backends.base import Segment
from jobs.backends.remote import Answer, ChunkTooLarge, RemoteBackend, RemoteLimits
from jobs.errors import BackendFailed

WHAT = "transcription"

__all__ = ["DEFAULT_MODEL", "PROVIDER", "openai_backend", "wants_segments"]

# OpenAI shuts down whisper-1 and the gpt-4o-*transcribe models on 2027-02-26 and recommends
# gpt-transcribe for files (checked 2026-11).
DEFAULT_MODEL = "gpt-transcribe"
PROVIDER = Provider("openai", "OPENAI_API_KEY", "OPENAI_BASE_URL", "RELAYQ_OPENAI_MODEL")


def wants_segments(model: str) -> bool:
    """Whisper models return segment times (verbose_json); the newer ones only text."""
    return "whisper" in model.lower()


def openai_backend(
    key: str,
    base_url: str | None,
    model: str,
    limits: RemoteLimits,
    *,
    retries: int = 5,
    timeout_s: float = 300.0,
) -> RemoteBackend:
    client = make_client(key, base_url, max_retries=retries, timeout_s=timeout_s)
    host = where(client)
    segments = wants_segments(model)

    def send(wav: bytes, language: str | None) -> Answer:
        import openai

        options: dict[str, Any] = {"language": language} if language else {}
        try:
            if segments:
                verbose = client.audio.transcriptions.create(
                    model=model,
                    file=("chunk.wav", wav, "audio/wav"),
                    response_format="verbose_json",
                    timestamp_granularities=["segment"],
                    **options,
                )
                return Answer(
                    str(getattr(verbose, "text", "") or ""),
                    [
                        Segment(float(s.start), float(s.end), s.text)
                        for s in (getattr(verbose, "segments", None) or [])
                    ],
                )
            plain = client.audio.transcriptions.create(
                model=model, file=("chunk.wav", wav, "audio/wav"), response_format="json", **options
            )
            return Answer(str(getattr(plain, "text", "") or ""))
        except openai.APIError as err:
            if isinstance(err, openai.APIStatusError) and err.status_code == 413:
                raise ChunkTooLarge from None
            raise explain(
                err, host=host, provider=PROVIDER, model=model, what=WHAT, retries=retries
            ) from None
        except ValueError:  # an answer that is not the JSON the API documents
            raise BackendFailed(
                f"{host} answered the transcription request with something that is not a "
                "transcription; check OPENAI_BASE_URL"
            ) from None

    return RemoteBackend(
        PROVIDER,
        model,
        send,
        limits,
        {"endpoint": host, "timestamps": "segments" if segments else "text"},
        client.close,
    )
