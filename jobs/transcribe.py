"""One transcription job: fetch → decode → backend → outputs, with a result cache.

Everything temporary lives in one TemporaryDirectory that goes away however the job ends
(success, error, Ctrl-C or SIGTERM turned into KeyboardInterrupt by the CLI).
"""

from __future__ import annotations

import json
import os
import platform
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from jobs.backends import Backend, backend_chain, make_backend
from jobs.cache import CachedResult, ResultCache, cache_key, sha256_file
from jobs.config import TranscribeConfig
from jobs.decode import decode
from jobs.disk import job_folder, writing_temp
from jobs.errors import BackendFailed, ConfigError, SourceUnreachable, TooLong, UsageError
from jobs.fetch import check_url, is_url, looks_like_link, safe_url
from jobs.fetch.media import MediaResult
from jobs.fetch.pick import fetch_link
from jobs.language import LANGUAGES, TASKS
from jobs.outputs import check_out_dir, install, write_results
from jobs.privacy import not_handed_on
from jobs.progress import Reporter
from jobs.telegram_file import UNNAMED_UPLOAD, fetch_upload, is_upload

__all__ = ["Outcome", "clean_name", "transcribe"]

Progress = Callable[[str], None]

_HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}  # control, format (bidi), unassigned
_NAME_MAX = 80


@dataclass(frozen=True)
class Outcome:
    out_dir: Path
    cached: bool
    duration_s: float
    wall_time_s: float
    real_time_factor: float | None
    segments: int


def transcribe(
    source: str,
    out_dir: Path,
    config: TranscribeConfig,
    progress: Progress = lambda _: None,
    *,
    name: str | None = None,
    reporter: Reporter | None = None,
) -> Outcome:
    """Run one job; raises the RelayqError that says what went wrong.

    `name` is what every step line and sentence calls the source (the user's name for it);
    without one: a file's base name, a link as `safe_url` prints it, "the file you sent".
    `reporter` hears where the job is, as fractions of its phases (jobs/progress.py).
    """
    started = time.monotonic()
    if not source.strip():  # '' would be read as this folder
        raise UsageError("no source given; give an http(s) link or an audio or video file")
    if config.language is not None and config.language not in LANGUAGES:
        raise UsageError(f"--language wants auto or a language code such as en, de or fr, "
                         f"not {config.language!r}")  # fmt: skip
    if config.task not in TASKS:
        raise UsageError(f"--task wants transcribe or translate, not {config.task!r}")
    check_out_dir(out_dir)
    chain = backend_chain(config)
    failed: list[dict[str, str]] = []
    opened = [_next_backend(chain, config, failed, progress)]  # before any download
    try:
        job = _Job(source, clean_name(name), out_dir, config, progress, reporter or Reporter())
        return _run(job, opened, chain, failed, started)
    except (BackendFailed, ConfigError) as err:
        raise not_handed_on(err, config) from None  # a private job's refused fallback, said
    finally:
        for backend in opened:
            backend.close()


@dataclass(frozen=True)
class _Job:
    source: str
    name: str | None  # the user's name for the source, when the caller gave one
    out_dir: Path
    config: TranscribeConfig
    progress: Progress
    reporter: Reporter

    @property
    def shown(self) -> str:
        """What step lines and sentences call the source: never a path of this machine."""
        if self.name:
            return self.name
        if is_upload(self.source):
            return UNNAMED_UPLOAD
        if _is_link(self.source):
            return safe_url(self.source)
        return Path(self.source).name


def _run(
    job: _Job,
    opened: list[Backend],
    chain: list[str],
    failed: list[dict[str, str]],
    started: float,
) -> Outcome:
    """The job with the first backend in `opened`; fallbacks are appended as they are made."""
    out_dir, config, progress, reporter = job.out_dir, job.config, job.progress, job.reporter
    backend = opened[0]
    settings = _settings(backend, config)
    with job_folder() as tmp:
        audio_path, label, page = _obtain(job, tmp)
        fetch_s = time.monotonic() - started
        digest = sha256_file(audio_path)
        key = cache_key(digest, settings)
        cache = ResultCache(config.cache_dir) if config.cache_dir is not None else None
        hit = cache.lookup(key) if cache is not None else None
        if hit is not None:
            _check_length(float(hit.meta.get("duration_s") or 0.0), config, job.shown)
            reused = _reuse(job, hit, label, page, failed, started)
            if reused is not None:  # else swept away meanwhile (RELAYQ_KEEP_DAYS): run it
                return reused

        progress(f"decode {job.shown}")
        reporter.begin("decode")
        decode_s = time.monotonic()
        audio = decode(audio_path, name=job.shown)
        decode_s = time.monotonic() - decode_s
        _check_length(audio.duration_s, config, job.shown)
        warnings = []
        if audio.cut_short:
            warnings.append(
                f"the sound ends at {audio.duration_s:.1f} s although the file announces "
                f"{audio.announced_s:.1f} s (cut short?); transcribed what is there"
            )
            progress(f"decode: {warnings[-1]}")
        while True:
            verb = "translate" if config.task == "translate" else "transcribe"
            where = "" if backend.name == "local" else f" ({backend.name})"

            def begin(model: str, verb: str = verb, where: str = where) -> None:
                progress(f"{verb} {audio.duration_s:.1f} s of audio with {model}{where}")
                reporter.begin("transcribe")

            def advance(seconds: float) -> None:
                if audio.duration_s > 0:
                    reporter.update("transcribe", seconds / audio.duration_s,
                                    audio_done_s=seconds)  # fmt: skip

            t0 = time.monotonic()
            try:
                made = backend.transcribe(
                    audio.samples,
                    language=config.language,
                    task=config.task,
                    step=progress,
                    begin=begin,
                    advance=advance,
                )
                break
            except (BackendFailed, ConfigError) as err:
                _failed(backend.name, backend.model, err, chain, failed, progress)
                backend = _next_backend(chain, config, failed, progress)
                opened.append(backend)
        compute_s = time.monotonic() - t0
        reporter.end("transcribe", audio_done_s=audio.duration_s)
        rtf = round(compute_s / audio.duration_s, 4) if audio.duration_s else None
        segments = made.segments
        settings = _settings(backend, config)
        public_settings = {k: v for k, v in settings.items() if k != "model_ref"}
        made_key = cache_key(digest, settings)
        progress(f"write {_segments(len(segments))}")
        reporter.begin("outputs")
        meta = {
            "source": label,
            "source_name": job.name,
            **_page_meta(page),
            "sha256": digest,
            "duration_s": round(audio.duration_s, 3),
            "backend": backend.name,
            "model": made.model,
            "language": made.language,
            "language_probability": made.language_probability,
            "task": config.task,
            "private": config.private,  # the local model only, nothing sent out (privacy.py)
            "settings": public_settings,
            "failed": failed,
            "requests": getattr(backend, "requests", None),
            "segments": len(segments),
            "wall_time_s": round(time.monotonic() - started, 3),
            "fetch_time_s": round(fetch_s, 3),
            "decode_time_s": round(decode_s, 3),
            "transcribe_time_s": round(compute_s, 3),
            "real_time_factor": rtf,
            "host": platform.node(),
            "relayq_version": _version(),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "cached": False,
            # The transcript cache's entry for it (the settings of the backend that made it),
            # so that /forget can find that entry and remove it (bot/lifecycle/forgetting.py).
            "cache_key": made_key,
            "warnings": warnings,
        }
        write_results(out_dir, segments, meta)
        if cache is not None:
            cache.store(made_key, out_dir, warn=lambda why: progress(f"note: {why}"))
        reporter.end("outputs")
    wall = time.monotonic() - started
    return Outcome(out_dir, False, audio.duration_s, wall, rtf, len(segments))


def _settings(backend: Backend, config: TranscribeConfig) -> dict[str, object]:
    """What makes this job's result: the cache key's settings (None language: detected)."""
    return {**backend.identity(), "language": config.language, **_task(config)}


def _next_backend(
    chain: list[str], config: TranscribeConfig, failed: list[dict[str, str]], progress: Progress
) -> Backend:
    """The first backend left in `chain` that can be built; those that cannot are recorded in
    `failed`. Raises the last error, naming the earlier ones, when none is left."""
    while True:
        name = chain[0]
        try:
            # --model is meant for the backend chosen first, not for a fallback.
            return make_backend(name, config, model=config.model if not failed else None)
        except ConfigError as err:
            _failed(name, None, err, chain, failed, progress)


def _failed(
    name: str,
    model: str | None,
    err: BackendFailed | ConfigError,
    chain: list[str],
    failed: list[dict[str, str]],
    progress: Progress,
) -> None:
    """Record that `name` failed and move on to the next backend, or raise when none is left."""
    chain.pop(0)
    failed.append({"backend": name, "model": model or "", "error": str(err)})
    if not chain:
        if len(failed) == 1:
            raise err
        tried = "; ".join(f"{f['backend']}: {f['error']}" for f in failed[:-1])
        raise type(err)(f"{err} (tried before: {tried})") from None
    progress(f"{name} failed: {err}; trying {chain[0]} instead")


def _obtain(job: _Job, tmp: Path) -> tuple[Path, str, MediaResult | None]:
    """The source as a file in `tmp` (or where it is), how meta.json records it, and what a
    media page said about it. A link is tried as a file first; a page (HTML, HLS) or a known
    media site's link goes to yt-dlp."""
    source, config, progress = job.source, job.config, job.progress
    if is_upload(source):
        progress(f"fetch {job.shown}")
        with writing_temp(f"download {job.shown}"):
            result = fetch_upload(
                source,
                tmp,
                token=config.telegram_token,
                api_base=config.telegram_api_base,
                max_bytes=config.max_download_bytes,
                timeout_s=config.download_timeout_s,
                allow=config.allow_private_urls,
                name=job.shown,
                on_bytes=job.reporter.downloaded,
            )
        return result.path, source, None
    if _is_link(source):
        check_url(source)  # a malformed or refused link says so before any step
        progress(f"fetch {job.shown}")
        with writing_temp(f"download {job.shown}"):
            path, page = fetch_link(
                source,
                tmp,
                max_bytes=config.max_download_bytes,
                timeout_s=config.download_timeout_s,
                max_duration_s=config.max_duration_s,
                allow=config.allow_private_urls,
                name=job.name,
                cookies=config.ytdlp_cookies,
                on_bytes=job.reporter.downloaded,
            )
        return path, safe_url(source), page
    path = Path(source).expanduser()
    typed = job.name or source  # as the user gave it: theirs to recognise, not our path
    if path.is_dir():
        raise UsageError(f"{typed} is a folder; give one audio or video file")
    if not path.exists():
        raise SourceUnreachable(f"no such file: {typed}; check the path")
    if not path.is_file():
        raise UsageError(f"{typed} is not a regular file; give one audio or video file")
    if not os.access(path, os.R_OK):
        raise SourceUnreachable(f"cannot read {typed} (permission denied); check its permissions")
    progress(f"read {job.shown}")
    return path, str(path.resolve()), None


def _page_meta(page: MediaResult | None) -> dict[str, str | None]:
    """What meta.json says of the source's page (all None for a file or an upload)."""
    return {
        "title": page.title if page else None,
        "uploader": page.uploader if page else None,
        "page_url": page.page_url if page else None,
    }


def _check_length(duration_s: float, config: TranscribeConfig, shown: str) -> None:
    limit = config.max_duration_s
    if limit is not None and duration_s > limit:
        raise TooLong(
            f"{shown} is {duration_s / 60:.1f} min long, more than the {limit / 60:g} min this "
            "runner takes; send a shorter recording",
            duration_s=duration_s,
            max_duration_s=limit,
        )


def _reuse(
    job: _Job,
    hit: CachedResult,
    label: str,
    page: MediaResult | None,
    failed: list[dict[str, str]],
    started: float,
) -> Outcome | None:
    """The cached result, told as this job's: its own source and what failed for it (a
    fallback that made the cached transcript is no warning for a job that asked for it).
    None when the entry is gone before it could be read."""
    out_dir, progress = job.out_dir, job.progress
    contents: dict[str, str | bytes] | None = hit.files()
    if contents is None:
        return None
    progress(f"reusing the transcript made {hit.made} for the same audio and settings")
    meta = dict(hit.meta, source=label, source_name=job.name, cached=True, failed=failed,
                private=job.config.private)  # fmt: skip
    meta.setdefault("cache_key", hit.folder.name)  # an entry stored before meta.json said it
    meta.update(_page_meta(page))
    meta["wall_time_s"] = round(time.monotonic() - started, 3)
    contents["meta.json"] = json.dumps(meta, indent=2, ensure_ascii=False) + "\n"
    progress(f"write {_segments(int(meta.get('segments') or 0))}")
    job.reporter.begin("outputs")
    install(out_dir, contents)
    job.reporter.end("outputs")
    rtf = meta.get("real_time_factor")
    return Outcome(
        out_dir,
        True,
        float(meta.get("duration_s") or 0.0),
        time.monotonic() - started,
        float(rtf) if isinstance(rtf, int | float) else None,
        int(meta.get("segments") or 0),
    )


def clean_name(name: str | None) -> str | None:
    """`name` fit to print on one line: no control or direction-changing characters (a newline
    would forge a step line; an RTL override would turn the text around), at most 80
    characters; None when nothing is left."""
    if not name:
        return None
    kept = "".join(" " if unicodedata.category(c) in _HIDDEN else c for c in name)
    kept = " ".join(kept.split())
    return (kept if len(kept) <= _NAME_MAX else kept[: _NAME_MAX - 1] + "…") or None


def _is_link(source: str) -> bool:
    """A link (to fetch, or to refuse by name), not a file: `javascript:x` is a link, but a
    file that exists under a name like `data:notes.mp3` stays a file."""
    return looks_like_link(source) and (is_url(source) or not Path(source).exists())


def _segments(count: int) -> str:
    return f"{count} segment" if count == 1 else f"{count} segments"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("relayq")
    except PackageNotFoundError:
        return "unknown"


def _task(config: TranscribeConfig) -> dict[str, str]:
    """A translation's results are not a transcription's: they are cached apart (the key of a
    transcription is unchanged, so the entries already cached still count)."""
    return {} if config.task == "transcribe" else {"task": config.task}
