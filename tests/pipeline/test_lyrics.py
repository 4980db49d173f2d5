import pytest

from audioqa_pipeline.lyrics import FPS, LyricsError, frame_tokens, parse_lrc, syllables


def test_parse_lrc_times_and_metadata():
    lines, problems = parse_lrc("[ar:x]\n[00:01.50]Hello world\n[01:02.25][00:00.5]again\n")
    assert [(l.time_s, l.text) for l in lines] == [(0.5, "again"), (1.5, "Hello world"), (62.25, "again")]
    assert problems == []


def test_malformed_lines_reported_with_line_numbers():
    with pytest.raises(LyricsError) as e:
        parse_lrc("[00:01.00]ok\nno tag here\n[1:75.00]bad seconds\n[aa:bb]x\n", "song.lrc")
    nums = [n for n, _, _ in e.value.problems]
    assert nums == [2, 3, 4]
    assert "song.lrc: 3 malformed LRC line(s): line 2: no [mm:ss.xx] time tag" in str(e.value)


def test_syllables_and_tokens():
    assert syllables("夜空 hello") == ["夜", "空", "he", "llo"]
    lines, _ = parse_lrc("[00:01.00]la la\n")
    tok = frame_tokens(lines, 100)
    first = int(round(1.0 * FPS))
    assert tok[first - 1] == 0 and tok[first] > 0
    assert sum(1 for t in tok if t) >= 2
