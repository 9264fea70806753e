"""Make synthetic speech with known text: espeak-ng to WAV, then PyAV to Ogg/Opus.

    python tools/make_speech.py jobs/samples/speech.txt jobs/samples/speech.ogg

made the bundled sample (espeak-ng 1.51, voice en-us, 150 words per minute). The benchmark
uses the same function for its longer file. Needs Debian's `espeak-ng` and PyAV.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

import av


def synthesize(text: str, out: Path, *, voice: str = "en-us", wpm: int = 150) -> Path:
    """Speak `text` into `out` (format from the suffix: .ogg → Opus, .wav → PCM)."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        text_file = Path(tmp) / "speech.txt"
        text_file.write_text(text, encoding="utf-8")
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(wpm), "-w", str(wav), "-f", str(text_file)],
            check=True,
        )
        if out.suffix == ".wav":
            out.write_bytes(wav.read_bytes())
            return out
        _encode_opus(wav, out)
    return out


def _encode_opus(wav: Path, out: Path) -> None:
    with av.open(str(wav)) as src, av.open(str(out), "w", format="ogg") as dst:
        stream = dst.add_stream("libopus", rate=48000, layout="mono")
        stream.bit_rate = 32000
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
        for frame in src.decode(audio=0):
            for chunk in resampler.resample(frame):
                for packet in stream.encode(chunk):
                    dst.mux(packet)
        for chunk in resampler.resample(None):
            for packet in stream.encode(chunk):
                dst.mux(packet)
        for packet in stream.encode(None):
            dst.mux(packet)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("text", type=Path, help="a UTF-8 text file with what to say")
    parser.add_argument("out", type=Path, help="output .ogg (Opus) or .wav")
    args = parser.parse_args()
    synthesize(args.text.read_text(encoding="utf-8"), args.out)


if __name__ == "__main__":
    main()
