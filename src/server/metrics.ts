/**
 * Prometheus metrics of one server (prom-client, a registry per server: no global state).
 * - biencoder_http_requests_total{method, route, status}
 * - biencoder_http_request_duration_seconds{method, route, status} (histogram)
 * - biencoder_embed_batch_size{model} (histogram of texts per encode() call the server makes)
 * - biencoder_collection_documents{collection} (gauge, read at scrape time)
 * - the process metrics of prom-client's collectDefaultMetrics (memory, CPU, event loop lag, ...)
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ServerMetrics {
  readonly registry: Registry;
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  observeBatch(texts: number, model: string): void;
}

/** `documents()` is read at every scrape: the document count of each open collection (a pgvector count is a query). */
export function createMetrics(documents: () => Iterable<[string, number]> | Promise<Iterable<[string, number]>>): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'biencoder_' });
  const requests = new Counter({
    name: 'biencoder_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'biencoder_http_request_duration_seconds',
    help: 'HTTP request latency by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const batches = new Histogram({
    name: 'biencoder_embed_batch_size',
    help: 'Texts per encode() call (micro-batches of concurrent queries, and whole requests)',
    labelNames: ['model'] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
    registers: [registry],
  });
  new Gauge({
    name: 'biencoder_collection_documents',
    help: 'Documents in each open collection',
    labelNames: ['collection'] as const,
    registers: [registry],
    async collect() {
      const counts = await documents();
      this.reset();
      for (const [name, count] of counts) this.set({ collection: name }, count);
    },
  });
  return {
    registry,
    observeRequest(method, route, status, seconds) {
      const labels = { method, route, status: String(status) };
      requests.inc(labels);
      duration.observe(labels, seconds);
    },
    observeBatch(texts, model) {
      batches.observe({ model }, texts);
    },
  };
}
