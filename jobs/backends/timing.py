"""Subtitle times for text that came back without any: spread it over where the speech is.

Newer transcription models answer a chunk with its text only. The chunk's speech regions are
known (the VAD found them), so the text is cut into sentence-sized cues and each cue is given
the stretch of speech its share of the characters takes, counted in speech time (silences
take no characters). Then the boundary is moved into a pause: after a sentence, the longest
pause within 1.5 s (people pause longest between sentences); inside a long sentence, the
nearest pause within 0.5 s; and never farther than half the time the cue itself takes to say
(a sentence end the model made up, with no pause in the speech, stays where its share puts
it). The rest of the text is spread again from there, so an error never carries on. On an
hour of speech this puts sentence starts within 0.7 s of where the local model's word times
put them (tests/jobs/test_remote_long.py).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from jobs.backends.base import Segment
from jobs.backends.chunks import Region
from jobs.cues import MAX_CUE_CHARS

__all__ = ["cue_texts", "stitch", "time_text"]

SENTENCE_SNAP_S = 1.5  # after a sentence end: the longest pause this close
PHRASE_SNAP_S = 0.5  # inside a sentence: the nearest pause this close
# ... and never farther than this part of the cue's own estimated length. A share is off by a
# part of the cue it measures, so a pause farther away than half the cue belongs to another
# sentence: with a sentence end the model made up ("the old oak tree" heard as "all docked.
# Treat"), the longest pause within 1.5 s was the next real sentence end, 1.4 s on, and the
# cues after it were each one pause late (1.8 s on the test hour; 0.4-0.6 all give 0.69 s).
SNAP_PART = 0.5
_ENDS = (".", "?", "!", "…", '."', ".'", ".”", '?"', '!"')
_SENTENCE = re.compile(r"(?:(?<=[.!?…])|(?<=[.!?…][\"'”)\]]))\s+")


def cue_texts(text: str) -> list[str]:
    """Sentences; a sentence over MAX_CUE_CHARS is cut into near-equal parts at spaces,
    preferring a comma when one is close."""
    cues: list[str] = []
    for sentence in _SENTENCE.split(" ".join(text.split())):
        words = sentence.split()
        if words:
            bounds = [0, *_cuts(words, -(-len(sentence) // MAX_CUE_CHARS)), len(words)]
            cues.extend(" ".join(words[a:b]) for a, b in itertools.pairwise(bounds) if a < b)
    return cues


def _cuts(words: list[str], parts: int) -> list[int]:
    """Where to cut `words` into `parts` parts of about the same length (word indexes)."""
    ends = list(itertools.accumulate(len(w) + 1 for w in words))
    cuts: list[int] = []
    for k in range(1, parts):
        target = k * ends[-1] / parts
        candidates = range(cuts[-1] if cuts else 0, len(words) - 1)
        if not candidates:
            break
        best = min(
            candidates,
            key=lambda i: abs(ends[i] - target) - (8 if words[i].endswith((",", ";", ":")) else 0),
        )
        cuts.append(best + 1)
    return cuts


def time_text(text: str, speech: Sequence[Region]) -> list[Segment]:
    """Cues for `text` spoken over the regions `speech` (absolute seconds, in order)."""
    cues = cue_texts(text)
    if not cues or not speech:
        return []
    regions = list(speech)
    out: list[Segment] = []
    start = regions[0][0]
    while cues:
        if len(cues) == 1:
            out.append(Segment(round(start, 3), round(regions[-1][1], 3), cues[0]))
            break
        # Where the first cue would end if the remaining text were spread evenly.
        share = _weight(cues[0]) / sum(_weight(c) for c in cues)
        end = _at(regions, start, share)
        spoken = share * sum(e - max(s, start) for s, e in regions if e > start)
        gap = _pause_near(
            regions, end, sentence_end=cues[0].endswith(_ENDS), reach=SNAP_PART * spoken
        )
        if gap is not None:
            index, (pause_start, pause_end) = gap
            out.append(Segment(round(start, 3), round(pause_start, 3), cues.pop(0)))
            start, regions = pause_end, regions[index + 1 :]
        else:
            out.append(Segment(round(start, 3), round(end, 3), cues.pop(0)))
            start = end
            regions = [(max(s, end), e) for s, e in regions if e > end]
            if not regions:  # all the speech is used up: the rest shares the last instant
                regions = [(end, end)]
    return out


def stitch(cues: Sequence[Segment]) -> list[Segment]:
    """Cues from all chunks in order, times never going backwards."""
    out: list[Segment] = []
    for cue in sorted(cues, key=lambda c: c.start):
        start = max(cue.start, out[-1].end) if out else cue.start
        out.append(Segment(start, max(cue.end, start), cue.text))
    return out


# Symbols said as words: "£50" takes as long to say as "fifty pounds", not three letters.
_SAID_AS = {"£": "pounds", "$": "dollars", "€": "euros", "¥": "yen", "%": "percent",
            "&": "and", "+": "plus", "=": "equals", "@": "at", "#": "number"}  # fmt: skip


def _weight(text: str) -> int:
    """About how long `text` takes to say, in letters: a digit is said as about four ("50"
    is "fifty"), a symbol as its word, and the space after it takes a little time too."""
    extra = sum(3 if c.isdigit() else len(_SAID_AS.get(c, "_")) - 1 for c in text)
    return len(text) + 1 + extra


def _at(regions: list[Region], start: float, share: float) -> float:
    """The time `share` of the speech time from `start` onwards has passed."""
    spans = [(max(s, start), e) for s, e in regions if e > start]
    left = share * sum(e - s for s, e in spans)
    for s, e in spans:
        if left <= e - s:
            return s + left
        left -= e - s
    return spans[-1][1] if spans else start


def _pause_near(
    regions: list[Region], t: float, *, sentence_end: bool, reach: float
) -> tuple[int, Region] | None:
    """The pause (after region i) to end a cue in, if one is close enough to t: within the
    sentence or phrase window, and within `reach`."""
    window = min(SENTENCE_SNAP_S if sentence_end else PHRASE_SNAP_S, reach)
    best: tuple[float, int] | None = None
    for i in range(len(regions) - 1):
        start, end = regions[i][1], regions[i + 1][0]
        if start > t + window:
            break
        distance = 0.0 if start <= t <= end else min(abs(t - start), abs(t - end))
        if distance > window:
            continue
        # The longest pause wins after a sentence (a little less the farther it is); the
        # nearest inside one.
        score = distance - (end - start) / 0.3 if sentence_end else distance
        if best is None or score < best[0]:
            best = (score, i)
    if best is None:
        return None
    i = best[1]
    return i, (regions[i][1], regions[i + 1][0])
