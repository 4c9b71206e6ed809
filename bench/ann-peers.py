"""Peers of `npm run bench:ann`: hnswlib and faiss on the vectors bench/ann.ts wrote.

Reads raw little-endian f32 files (base: n x d, queries: nq x d, already unit-normalized, so inner
product = cosine) and the ground truth (nq x k int32 base rows, from biencoder's FlatIndex). One thread
everywhere. Prints progress on stderr and one JSON object on stdout.

usage: ann-peers.py BASE QUERIES TRUTH DIMS K M EF_CONSTRUCTION EFS(comma list) FLAT_QUERIES TMPDIR
"""
import json
import os
import sys
import time

import numpy as np


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def recall(found, truth, k):
    hits = 0
    for f, t in zip(found, truth):
        hits += len(set(f[:k].tolist()) & set(t[:k].tolist()))
    return hits / (len(truth) * k)


def best_qps(run, n, reps=2):
    best = 0.0
    out = None
    for _ in range(reps):
        t = time.perf_counter()
        out = run()
        best = max(best, n / (time.perf_counter() - t))
    return best, out


def sweep(name, set_ef, search, queries, truth, k, efs):
    # As bench/ann.ts: best of 2 where recall >= 0.9, stop one point after recall >= 0.95.
    points = []
    after95 = -1
    for ef in efs:
        set_ef(ef)
        qps, labels = best_qps(lambda: search(queries, k), len(queries), reps=1)
        r = recall(labels, truth, k)
        if r >= 0.9:
            qps = max(qps, best_qps(lambda: search(queries, k), len(queries), reps=1)[0])
        points.append({"ef": ef, "recall": round(r, 4), "qps": round(qps, 1)})
        log(f"  {name} ef={ef}: recall {r:.4f}, {qps:.0f} QPS")
        if r >= 0.95 and after95 < 0:
            after95 = 0
        elif after95 >= 0:
            after95 -= 1
            if after95 < 0:
                break
    return points


def main():
    base_path, q_path, truth_path, dims, k, m, efc, efs, flat_queries, tmp = sys.argv[1:11]
    dims, k, m, efc, flat_queries = int(dims), int(k), int(m), int(efc), int(flat_queries)
    efs = [int(x) for x in efs.split(",")]
    base = np.fromfile(base_path, dtype=np.float32).reshape(-1, dims)
    queries = np.fromfile(q_path, dtype=np.float32).reshape(-1, dims)
    truth = np.fromfile(truth_path, dtype=np.int32).reshape(len(queries), -1)
    n = len(base)
    out = {}

    import hnswlib

    p = hnswlib.Index(space="ip", dim=dims)
    p.init_index(max_elements=n, ef_construction=efc, M=m)
    p.set_num_threads(1)
    t = time.perf_counter()
    p.add_items(base, np.arange(n), num_threads=1)
    build = time.perf_counter() - t
    log(f"hnswlib: built in {build:.1f} s")
    path = os.path.join(tmp, "hnswlib.bin")
    p.save_index(path)
    size = os.path.getsize(path)
    os.remove(path)
    points = sweep("hnswlib", p.set_ef, lambda q, kk: p.knn_query(q, k=kk, num_threads=1)[0], queries, truth, k, efs)
    out["hnswlib"] = {"version": getattr(hnswlib, "__version__", "?"), "build_s": round(build, 2), "file_bytes_per_vector": round(size / n, 1), "sweep": points}
    del p

    import faiss

    faiss.omp_set_num_threads(1)
    f = faiss.IndexHNSWFlat(dims, m, faiss.METRIC_INNER_PRODUCT)
    f.hnsw.efConstruction = efc
    t = time.perf_counter()
    f.add(base)
    build = time.perf_counter() - t
    log(f"faiss HNSWFlat: built in {build:.1f} s")
    size = len(faiss.serialize_index(f))

    def set_ef(ef):
        f.hnsw.efSearch = ef

    points = sweep("faiss", set_ef, lambda q, kk: f.search(q, kk)[1], queries, truth, k, efs)
    out["faiss"] = {"version": faiss.__version__, "build_s": round(build, 2), "file_bytes_per_vector": round(size / n, 1), "sweep": points}
    del f

    flat = faiss.IndexFlatIP(dims)
    flat.add(base)
    fq = queries[:flat_queries]
    qps, labels = best_qps(lambda: flat.search(fq, k)[1], len(fq), reps=1)
    r = recall(labels, truth[:flat_queries], k)
    log(f"faiss IndexFlatIP: {qps:.1f} QPS on {len(fq)} queries, recall vs FlatIndex {r:.4f}")
    out["faiss_flat"] = {"qps": round(qps, 2), "queries": len(fq), "recall_vs_flatindex": round(r, 4)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
