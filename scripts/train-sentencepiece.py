"""Trains a SentencePiece model and encodes texts with it, for scripts/make-multilingual-fixture.ts.

Run with Debian's interpreter, which has python3-sentencepiece:

    /usr/bin/python3 scripts/train-sentencepiece.py CORPUS.txt MODEL_PREFIX VOCAB_SIZE TEXTS.json IDS.json

Writes MODEL_PREFIX.model (the serialized ModelProto that the TypeScript script converts to tokenizer.json)
and IDS.json: the SentencePiece ids of each text in TEXTS.json (a JSON array of strings), as sentencepiece
itself computes them. Those ids are the ground truth the converted tokenizer is tested against, since the
JavaScript tokenizers only approximate the Precompiled normalizer.
"""
import json
import sys

import sentencepiece as spm


def main() -> None:
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    corpus, prefix, vocab_size, texts_file, ids_file = sys.argv[1:]
    spm.SentencePieceTrainer.train(
        input=corpus,
        model_prefix=prefix,
        vocab_size=int(vocab_size),
        model_type="unigram",
        # XLM-R's layout: <unk>=0, <s>=1, </s>=2, no <pad> (the fairseq offset adds it on conversion).
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        # nmt_nfkc is the default rule, named so the model's precompiled_charsmap is not left to chance.
        normalization_rule_name="nmt_nfkc",
        # Below 1.0 so that the rarest CJK characters stay out of the vocabulary: the fixture must map some text to <unk>.
        character_coverage=0.9995,
        input_sentence_size=0,
        shuffle_input_sentence=False,
        num_threads=1,  # one thread: the same corpus gives the same model
        minloglevel=2,
    )
    processor = spm.SentencePieceProcessor(model_file=f"{prefix}.model")
    with open(texts_file, encoding="utf-8") as f:
        texts = json.load(f)
    ids = [processor.encode(text) for text in texts]
    with open(ids_file, "w", encoding="utf-8") as f:
        json.dump(ids, f)


if __name__ == "__main__":
    main()
