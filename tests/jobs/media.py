"""Make test media from the speech sample with PyAV: other containers, codecs, video."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from jobs.decode import decode


def reencode(
    source: Path, out: Path, codec: str, *, seconds: float = 4.0, video: bool = False
) -> Path:
    """The first `seconds` of `source` as `codec` in the container `out`'s suffix implies."""
    samples = decode(source).samples[: int(seconds * 16000)]
    pcm = (samples * 32767).astype(np.int16)
    with av.open(str(out), "w") as container:
        rate = 48000 if codec in ("libopus",) else 16000
        stream = container.add_stream(codec, rate=rate, layout="mono")
        vstream = None
        if video:
            vstream = container.add_stream("mpeg4", rate=5)
            vstream.width, vstream.height, vstream.pix_fmt = 64, 48, "yuv420p"
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=rate)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 16000
        frame.time_base = Fraction(1, 16000)
        frame.pts = 0
        for chunk in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(chunk):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
        if vstream is not None:
            _add_video(container, vstream, seconds)
    return out


def video_only(out: Path, seconds: float = 1.0) -> Path:
    with av.open(str(out), "w") as container:
        vstream = container.add_stream("mpeg4", rate=5)
        vstream.width, vstream.height, vstream.pix_fmt = 64, 48, "yuv420p"
        _add_video(container, vstream, seconds)
    return out


def _add_video(
    container: av.container.OutputContainer, vstream: av.VideoStream, seconds: float
) -> None:
    for n in range(int(seconds * 5)):
        image = np.full((48, 64, 3), n * 20 % 255, dtype=np.uint8)
        vframe = av.VideoFrame.from_ndarray(image, format="rgb24")
        vframe.pts = n
        for packet in vstream.encode(vframe):
            container.mux(packet)
    for packet in vstream.encode(None):
        container.mux(packet)


def silence(out: Path, seconds: float) -> Path:
    """A long silent mono file, cheap to make and to read: 16 kHz FLAC (two hours in about
    two seconds; Opus took half a minute to encode and another quarter to decode)."""
    rate, step = 16000, 10
    with av.open(str(out), "w") as container:
        stream = container.add_stream("flac", rate=rate, layout="mono")
        block = np.zeros((1, rate * step), dtype=np.int16)
        for n in range(int(np.ceil(seconds / step))):
            frame = av.AudioFrame.from_ndarray(block, format="s16", layout="mono")
            frame.sample_rate = rate
            frame.pts = n * rate * step
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out


def hls_segments(source: Path, folder: Path, seconds_each: float = 4.0) -> list[Path]:
    """`source` as MPEG-TS segments of AAC, `seconds_each` long, timestamps running on from
    one segment to the next (what an HLS server hands out)."""
    samples = decode(source).samples
    step = int(seconds_each * 16000)
    paths = []
    for n, start in enumerate(range(0, len(samples), step)):
        pcm = (samples[start : start + step] * 32767).astype(np.int16)
        path = folder / f"seg{n}.ts"
        with av.open(str(path), "w", format="mpegts") as container:
            stream = container.add_stream("aac", rate=16000, layout="mono")
            resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=16000)
            frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = 16000
            frame.time_base = Fraction(1, 16000)
            frame.pts = start
            for chunk in resampler.resample(frame) + resampler.resample(None):
                for packet in stream.encode(chunk):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
        paths.append(path)
    return paths


def hls_playlist(urls: list[str], seconds_each: float = 4.0, *, ended: bool = True) -> bytes:
    """A media playlist of `urls`; without `ended` (no #EXT-X-ENDLIST) it is a live stream."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{int(seconds_each) + 1}"]
    lines.append("#EXT-X-MEDIA-SEQUENCE:0")
    for url in urls:
        lines += [f"#EXTINF:{seconds_each:.3f},", url]
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return ("\n".join(lines) + "\n").encode()
