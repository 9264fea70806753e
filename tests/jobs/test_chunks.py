"""Cutting audio for remote APIs, and timing text that came back without times: pure, by table."""

from __future__ import annotations

import io
import itertools
import wave

import numpy as np
import pytest

from jobs.backends.base import Segment
from jobs.backends.chunks import Chunk, plan_chunks, split_chunk, wav_bytes
from jobs.backends.timing import cue_texts, stitch, time_text
from jobs.cues import MAX_CUE_CHARS
from tests.conftest import SAMPLES

REGIONS = {
    "sentences": [(0.5, 3.0), (3.6, 7.9), (8.4, 12.0), (12.7, 20.0), (21.0, 24.0)],
    "one long talk": [(1.0, 95.0)],
    "a long silence": [(0.2, 4.0), (300.0, 304.0)],
    "many short": [(i * 2.0, i * 2.0 + 1.5) for i in range(60)],
}


def _inside_speech(t: float, regions: list[tuple[float, float]]) -> bool:
    return any(s < t < e for s, e in regions)


@pytest.mark.parametrize("name", sorted(REGIONS))
@pytest.mark.parametrize("max_s", [10.0, 30.0])
def test_chunks_hold_all_the_speech_stay_under_the_limit_and_cut_in_silence(
    name: str, max_s: float
) -> None:
    regions = REGIONS[name]
    duration = regions[-1][1] + 2.0
    chunks = plan_chunks(regions, duration, max_s)
    assert all(c.seconds <= max_s + 1e-9 for c in chunks)
    assert all(a.end <= b.start for a, b in itertools.pairwise(chunks))
    covered = sum(e - s for c in chunks for s, e in c.speech)
    assert covered == pytest.approx(sum(e - s for s, e in regions))
    for chunk in chunks:
        assert all(chunk.start <= s and e <= chunk.end for s, e in chunk.speech)
    if name != "one long talk":  # the only way to cut speech with no pause is inside it
        for chunk in chunks:
            assert not _inside_speech(chunk.start, regions)
            assert not _inside_speech(chunk.end, regions)


def test_long_silence_is_never_sent() -> None:
    chunks = plan_chunks(REGIONS["a long silence"], 310.0, 30.0)
    assert len(chunks) == 2
    assert sum(c.seconds for c in chunks) < 12.0


def test_no_speech_means_no_chunks() -> None:
    assert plan_chunks([], 7200.0, 30.0) == []


def test_a_refused_chunk_is_halved_in_a_pause() -> None:
    chunk = Chunk(0.0, 24.5, tuple(REGIONS["sentences"]))
    first, second = split_chunk(chunk)
    assert first.end == second.start
    assert not _inside_speech(first.end, REGIONS["sentences"])
    assert 5.0 < first.end < 20.0
    assert first.speech + second.speech == chunk.speech


def test_a_refused_chunk_of_unbroken_speech_is_halved_in_the_middle() -> None:
    first, second = split_chunk(Chunk(0.0, 10.0, ((1.0, 9.0),)))
    assert (first.end, second.start) == (5.0, 5.0)
    assert first.speech == ((1.0, 5.0),) and second.speech == ((5.0, 9.0),)


def test_wav_bytes_are_the_size_the_plan_counted_on() -> None:
    audio = np.random.default_rng(1).uniform(-1, 1, 16_000 * 5).astype(np.float32)
    chunk = Chunk(1.25, 3.75, ((1.5, 3.5),))
    data = wav_bytes(audio, chunk)
    assert len(data) == chunk.wav_size
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (1, 16_000, 2)
        assert wav.getnframes() == 40_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One. Two? Three!", ["One.", "Two?", "Three!"]),
        ("  spaced   out  text ", ["spaced out text"]),
        ("", []),
        ('He said "stop." Then left.', ['He said "stop."', "Then left."]),
    ],
)
def test_cue_texts_are_sentences(text: str, expected: list[str]) -> None:
    assert cue_texts(text) == expected


def test_a_long_sentence_becomes_readable_cues_without_losing_a_word() -> None:
    sentence = " ".join(f"word{i}," if i % 7 == 6 else f"word{i}" for i in range(60)) + "."
    cues = cue_texts(sentence)
    assert len(cues) > 1
    assert all(len(c) <= MAX_CUE_CHARS + 10 for c in cues)
    assert " ".join(cues) == sentence


def test_sentences_spoken_between_pauses_get_the_pauses_times() -> None:
    # Speech lasting 2.5, 4.3, 3.6, 7.3 and 3 s; sentences of about as many characters
    # (give or take a fifth, as people speak faster or slower).
    regions = REGIONS["sentences"]
    text = (
        "It starts quietly here. "
        "Then a second sentence comes, a bit longer. "
        "A third one is spoken now. "
        "The fourth sentence is the longest of them all, by quite a long way. "
        "And this ends it all."
    )
    cues = time_text(text, regions)
    assert [c.text for c in cues] == cue_texts(text)
    for cue, (start, end) in zip(cues, regions, strict=True):
        assert cue.start == pytest.approx(start)
        assert cue.end == pytest.approx(end)


def test_numbers_and_symbols_take_the_time_their_words_do() -> None:
    """A chunk of the hour of speech as the VAD and the model heard it: "£50" is said
    "fifty pounds". Counted as three letters, the sentence seemed to end at the comma's short
    pause (792.59 s), and the next one to start 1.5 s before it did."""
    regions = [(782.8, 785.01), (785.33, 787.15), (787.25, 789.68), (789.93, 792.59),
               (792.69, 793.78), (794.03, 797.3), (797.49, 800.02), (800.53, 801.04),
               (801.17, 801.91), (802.22, 805.04), (805.13, 806.35), (806.61, 811.09),
               (811.41, 812.08)]  # fmt: skip
    text = (
        "Because the price went up in the autumn, the tools came in under budget, and the "
        "seeds were cheaper than expected. Overall, we are about £50 over, which is fine. If "
        "anyone has received snat-naked and hot handed in yet, please send them to me by the "
        "end of the week. Third, the schedule. In March, we will so nearly crop indoors on the "
        "window sill. In April, the seedlings go out into the cold frame to get used to the "
        "weather. In May,"
    )
    cues = time_text(text, regions)
    fine = next(i for i, c in enumerate(cues) if c.text.endswith("which is fine."))
    assert (cues[fine].end, cues[fine + 1].start) == (793.78, 794.03)


def test_a_sentence_end_with_no_pause_stays_where_its_share_puts_it() -> None:
    """A chunk of the hour of speech as the VAD and the model heard it: "the corner by the old
    oak tree is a good place" came back as "... all docked. Treat is a good place", a sentence
    end where nobody paused (the VAD heard none between 1492.85 and 1496.31 s). The longest
    pause within 1.5 s of where that sentence's share ends (1494.90 s) was the real sentence
    end after "them." (1496.31 s): taken, it put "Treat" 1.8 s late and every sentence after it
    one pause late. The local model's word times start "Treat" at 1494.81 s."""
    regions = [(1492.85, 1496.31), (1496.62, 1499.15), (1499.25, 1501.81), (1502.16, 1507.63),
               (1508.01, 1508.63), (1508.75, 1509.49), (1509.77, 1512.5)]  # fmt: skip
    text = (
        "So the corner might be all docked. Treat is a good place for them. The water barrel "
        "collect, srain from the roof. And it holds about 200 liters. That should be half for "
        "most of the summer. Unless we have a hundred ride-like last year. Second, the budget. "
        "We spend a little more on planned on timber."
    )
    starts = {c.text.split()[0]: c.start for c in time_text(text, regions)}
    assert starts["Treat"] == pytest.approx(1494.81, abs=0.2)
    assert starts["The"] == 1496.62  # the real sentence end's pause, as before
    assert starts["That"] == 1502.16  # local: 1502.29


def test_text_without_pauses_is_spread_by_length_in_order() -> None:
    cues = time_text("Aaaa aaaa. Bbbb bbbb bbbb bbbb. Cccc.", [(10.0, 20.0)])
    assert cues[0].start == 10.0 and cues[-1].end == 20.0
    assert all(a.end <= b.start for a, b in itertools.pairwise(cues))
    lengths = [c.end - c.start for c in cues]
    assert lengths[1] > lengths[0] > lengths[2]


def test_stitched_cues_never_go_backwards() -> None:
    cues = [Segment(5.0, 9.0, "b"), Segment(0.0, 5.5, "a"), Segment(8.0, 12.0, "c")]
    stitched = stitch(cues)
    assert [c.text for c in stitched] == ["a", "b", "c"]
    assert all(a.end <= b.start and b.start <= b.end for a, b in itertools.pairwise(stitched))


@pytest.mark.parametrize("max_s", [5.0, 6.0])
def test_real_speech_is_only_ever_cut_where_the_vad_heard_a_pause(max_s: float) -> None:
    """The VAD is asked for regions that fit a chunk, so it finds the pauses in long speech:
    every piece the chunks hold is one of its regions, none cut again by the planner."""
    from faster_whisper.audio import decode_audio

    from jobs.backends.chunks import chunk_audio, speech_regions

    audio = decode_audio(str(SAMPLES / "speech.ogg"), sampling_rate=16_000)
    chunks = chunk_audio(audio, max_s)
    pieces = [piece for chunk in chunks for piece in chunk.speech]
    vad = speech_regions(audio, max_region_s=max_s - 2.0)
    assert len(chunks) >= 2 and pieces == vad
    # Asked for regions as long as a whole chunk, it gives some that leave no room for the
    # silence around them: the planner would have had to cut those, inside the speech.
    assert any(e - s > max_s - 2.0 for s, e in speech_regions(audio, max_region_s=max_s))
