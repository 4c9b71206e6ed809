#!/usr/bin/env python3
"""Peer for `npm run bench:quality`: an independent BM25 and an independent metric implementation.

Usage: python3 quality-peer.py DATASET_DIR [RUN_TSV ...]

- BM25 (Lucene's formula: idf = ln(1 + (N - n + 0.5) / (n + 0.5)), k1 = 1.2, b = 0.75) over
  title + text, tokens = lower-cased \\w+ runs minus Lucene's English stopwords, no stemming; numpy
  scoring, top 100 per query. Reports nDCG@10, Recall@100 and MRR@10 on the test split.
- Metrics of each RUN_TSV (lines "query-id<TAB>doc-id<TAB>score", written by bench/quality.ts),
  computed here with trec_eval's rules (score descending, ties by doc id descending; linear-gain
  nDCG with the ideal from all judged documents; relevant = grade >= 1), so the TypeScript metrics
  are checked against a second implementation on the real runs.

Prints one JSON object.
"""
import json
import math
import re
import sys
import time
from collections import defaultdict

import numpy as np

STOP = set("a an and are as at be but by for if in into is it no not of on or such that the their then there these they this to was will with".split())


def tokens(text):
    return [t for t in re.findall(r"\w+", text.lower()) if t not in STOP]


def read_jsonl(path):
    with open(path, encoding="utf8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_qrels(path):
    qrels = defaultdict(dict)
    with open(path, encoding="utf8") as f:
        for i, line in enumerate(f):
            parts = line.rstrip("\n").split("\t")
            if i == 0 and parts[0].startswith("query"):
                continue
            if len(parts) == 3:
                qrels[parts[0]][parts[1]] = int(parts[2])
    return qrels


def metrics(run, qrels):
    """run: qid -> list of (docid, score). Mean nDCG@10, Recall@100, MRR@10 over judged queries."""
    sums = {"ndcg@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
    for qid, judged in qrels.items():
        hits = run.get(qid, [])
        # score descending, then doc id descending (trec_eval)
        hits = sorted(hits, key=lambda h: h[0], reverse=True)
        hits = sorted(hits, key=lambda h: h[1], reverse=True)
        seen, ranked = set(), []
        for d, _ in hits:
            if d not in seen:
                seen.add(d)
                ranked.append(d)
        gains = sorted((g for g in judged.values() if g > 0), reverse=True)
        n_rel = sum(1 for g in judged.values() if g >= 1)
        dcg = sum(max(judged.get(d, 0), 0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
        idcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains[:10]))
        sums["ndcg@10"] += dcg / idcg if idcg > 0 else 0.0
        sums["recall@100"] += (sum(1 for d in ranked[:100] if judged.get(d, 0) >= 1) / n_rel) if n_rel else 0.0
        rr = 0.0
        for i, d in enumerate(ranked[:10]):
            if judged.get(d, 0) >= 1:
                rr = 1.0 / (i + 1)
                break
        sums["mrr@10"] += rr
    n = len(qrels)
    return {k: round(v / n, 4) for k, v in sums.items()}


def bm25(dataset):
    corpus = read_jsonl(f"{dataset}/corpus.jsonl")
    queries = {q["_id"]: q["text"] for q in read_jsonl(f"{dataset}/queries.jsonl")}
    qrels = read_qrels(f"{dataset}/qrels/test.tsv")
    t0 = time.perf_counter()
    ids = [str(d["_id"]) for d in corpus]
    postings = defaultdict(list)
    lengths = np.zeros(len(corpus), dtype=np.float64)
    for i, d in enumerate(corpus):
        toks = tokens(f"{d.get('title', '')} {d.get('text', '')}")
        lengths[i] = len(toks)
        counts = defaultdict(int)
        for t in toks:
            counts[t] += 1
        for t, c in counts.items():
            postings[t].append((i, c))
    post = {t: (np.array([p[0] for p in ps]), np.array([p[1] for p in ps], dtype=np.float64)) for t, ps in postings.items()}
    n_docs = len(corpus)
    avgdl = lengths.mean()
    k1, b = 1.2, 0.75
    index_seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    run = {}
    for qid in qrels:
        scores = np.zeros(n_docs)
        for t in set(tokens(queries[qid])):
            if t not in post:
                continue
            docs, tf = post[t]
            idf = math.log(1 + (n_docs - len(docs) + 0.5) / (len(docs) + 0.5))
            scores[docs] += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths[docs] / avgdl))
        top = np.argsort(-scores, kind="stable")[:100]
        run[qid] = [(ids[i], float(scores[i])) for i in top if scores[i] > 0]
    search_seconds = time.perf_counter() - t1
    return qrels, {"metrics": metrics(run, qrels), "indexSeconds": round(index_seconds, 3), "queriesPerSecond": round(len(qrels) / search_seconds, 1)}


def read_run(path):
    run = defaultdict(list)
    with open(path, encoding="utf8") as f:
        for line in f:
            q, d, s = line.rstrip("\n").split("\t")
            run[q].append((d, float(s)))
    return run


def main():
    dataset = sys.argv[1]
    qrels, peer = bm25(dataset)
    runs = {path: metrics(read_run(path), qrels) for path in sys.argv[2:]}
    print(json.dumps({"bm25": peer, "runs": runs, "numpy": np.__version__, "python": sys.version.split()[0]}))


if __name__ == "__main__":
    main()
