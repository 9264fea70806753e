"""`relayq summarize SOURCE`: the runner-side summary job (what `jobs/run_job.sh` runs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot import interrupts
from bot.settings import Settings

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "summarize",
        help="summarize a transcript into summary.md and meta.json",
        description="Summarize SOURCE (a transcript file, a job's results folder, or an http(s) "
        "link to a text file) with an OpenAI-compatible chat model: OpenAI when OPENAI_API_KEY "
        "is set, else OpenRouter. Exit codes: 0 done, 2 bad usage, 3 unreachable, 4 not text, "
        "6 refused address, 7 the API failed, 8 bad settings or key, 14 private and no LLM server "
        "of your own, 130 interrupted.",
    )
    parser.add_argument("source", metavar="SOURCE", help="a transcript, results folder or link")
    parser.add_argument("--out", type=Path, default=Path("out"), help="output folder (./out)")
    parser.add_argument("--model", help="chat model (default: RELAYQ_SUMMARY_MODEL, gpt-5-mini)")
    parser.add_argument(
        "--private",
        action="store_true",
        help="a private transcript: only the LLM server OPENAI_BASE_URL names, and only when it "
        "is on a home address (loopback, LAN, Tailscale); never OpenAI or OpenRouter (exit 14)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from jobs.summarize import SummaryConfig, summarize

    def secret(value: object) -> str | None:
        get = getattr(value, "get_secret_value", None)
        return str(get()) if get is not None else None

    config = SummaryConfig(
        model=args.model or settings.summary_model,
        openai_api_key=secret(settings.openai_api_key),
        openai_base_url=settings.openai_base_url,
        openrouter_api_key=secret(settings.openrouter_api_key),
        openrouter_base_url=settings.openrouter_base_url,
        download_timeout_s=settings.download_timeout_s,
        allow_private_urls=settings.allow_private_urls,
        private=args.private,
    )
    outcome = summarize(args.source, args.out, config, progress=_step)
    _progress(f"done in {outcome.wall_time_s:.1f} s ({outcome.calls} call(s) to {outcome.model})")
    print(outcome.out_dir)
    return 0


def _step(text: str) -> None:
    interrupts.check()  # a swallowed Ctrl-C still stops the job before the next step
    _progress(text)


def _progress(text: str) -> None:
    print(f"relayq: {text}", file=sys.stderr, flush=True)
