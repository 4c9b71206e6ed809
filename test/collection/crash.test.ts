/**
 * Crash safety: a writer process is SIGKILLed at >= 20 seeded random moments spread over an ingest
 * (mid-batch, right after an acknowledgement, during index persistence, while opening). After each
 * kill the collection must check ok as left by the crash, open (recovering the dead writer's lock),
 * hold every acknowledged batch completely, hold the batch in flight completely or not at all, and
 * hold nothing else; then the next writer process continues where the committed state ends.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Collection, DEFAULT_COLLECTION_INDEX } from '../../src/collection/collection.ts';
import { checkCollection } from '../../src/collection/check.ts';
import { readLockHolder } from '../../src/collection/lock.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { loadOnnxEncoder } from '../../src/encoders/onnx/onnx-encoder.ts';
import { syntheticModel, tempDir } from '../helpers/synthetic.ts';
import { prng } from './helpers.ts';
import { DIMS, expectedState, possibleIds, type ExpectedDoc } from './fixtures/plan.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/ingest.ts', import.meta.url));
const KILLS = 24;
const SEED = 20240611;

const tmp = tempDir('crash');
after(() => tmp.cleanup());
let modelDir: string;
let encoder: Encoder;
before(async () => {
  modelDir = await syntheticModel(tmp.dir, 'tiny', { tiny: true });
  encoder = await loadOnnxEncoder(modelDir);
});

type KillMode = 'timer' | 'after-ack' | 'in-flush' | 'opening';

interface RunResult {
  lastAck: number;
  startedOpen: boolean;
  ready: boolean;
  killedInFlush: boolean;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs the writer from batch `from` and kills it as `mode` says. */
function runAndKill(dir: string, from: number, mode: KillMode, rand: () => number): Promise<RunResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, dir, modelDir, String(from)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const result: RunResult = { lastAck: from - 1, startedOpen: false, ready: false, killedInFlush: false, signal: null, stderr: '' };
  let inFlush = false;
  let killed = false;
  let buffered = '';
  const ackTarget = 1 + Math.floor(rand() * 12);
  const flushTarget = 1 + Math.floor(rand() * 3);
  let acks = 0;
  let flushes = 0;
  const kill = (): void => {
    if (!killed) {
      killed = true;
      child.kill('SIGKILL');
    }
  };
  const killSoon = (maxMs: number): void => {
    const ms = rand() * maxMs;
    if (ms < 0.5) kill();
    else setTimeout(kill, ms);
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const [word, arg] = line.split(' ');
      if (word === 'opening') {
        result.startedOpen = true;
        if (mode === 'opening') killSoon(30);
      } else if (word === 'ready') {
        result.ready = true;
        if (mode === 'timer') killSoon(400);
      } else if (word === 'ack') {
        result.lastAck = Number(arg);
        acks++;
        if (mode === 'after-ack' && acks === ackTarget) kill();
      } else if (word === 'flush-start') {
        inFlush = true;
        flushes++;
        if (mode === 'in-flush' && flushes === flushTarget) killSoon(2);
      } else if (word === 'flush-done') {
        inFlush = false;
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => {
    result.stderr += d.toString();
  });
  const guard = setTimeout(kill, 15_000); // never hang the suite
  return new Promise((resolve) => {
    child.on('exit', (_code, signal) => {
      clearTimeout(guard);
      result.signal = signal;
      result.killedInFlush = inFlush && signal === 'SIGKILL';
      resolve(result);
    });
  });
}

function sameVector(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Which committed prefix (lastAck+1 or lastAck+2) the collection holds exactly, or a description of the mismatch. */
async function committedPrefix(c: Collection, lastAck: number): Promise<number> {
  const candidates = [lastAck + 1, lastAck + 2];
  const all = possibleIds(lastAck + 2);
  const stored = await c.get(all, { vectors: true });
  const actual = new Map<string, { text: string; metadata: unknown; vector: Float32Array }>();
  all.forEach((id, i) => {
    const d = stored[i];
    if (d) actual.set(id, { text: d.text, metadata: d.metadata, vector: d.vector! });
  });
  assert.equal(c.count(), actual.size, 'no documents other than the batches written');
  const mismatches: string[] = [];
  for (const p of candidates) {
    const expected = expectedState(p);
    const diff = diffState(expected, actual);
    if (diff === undefined) return p;
    mismatches.push(`prefix ${p}: ${diff}`);
  }
  assert.fail(`the collection is neither "acknowledged batches only" nor "acknowledged + the batch in flight":\n${mismatches.join('\n')}`);
}

function diffState(expected: Map<string, ExpectedDoc>, actual: Map<string, { text: string; metadata: unknown; vector: Float32Array }>): string | undefined {
  if (expected.size !== actual.size) return `${actual.size} documents, expected ${expected.size}`;
  for (const [id, e] of expected) {
    const a = actual.get(id);
    if (a === undefined) return `${id} is missing`;
    if (a.text !== e.text) return `${id} has text ${JSON.stringify(a.text)}, expected ${JSON.stringify(e.text)}`;
    assert.deepEqual(a.metadata, e.metadata);
    if (e.vector !== undefined && !sameVector(a.vector, e.vector)) return `${id} has another vector`;
    if (a.vector.length !== DIMS) return `${id} has a ${a.vector.length}-d vector`;
  }
  return undefined;
}

test(`a writer SIGKILLed ${KILLS} times loses no acknowledged batch and leaves no half-written one`, { timeout: 120_000 }, async () => {
  const t0 = performance.now();
  const dir = join(tmp.dir, 'collection');
  await Collection.create(dir, { encoder, index: DEFAULT_COLLECTION_INDEX }).then((c) => c.close());
  const rand = prng(SEED);
  const modes: KillMode[] = ['timer', 'timer', 'after-ack', 'in-flush', 'in-flush', 'timer', 'after-ack', 'opening'];
  let committed = 0; // batches 0 .. committed-1 are in the collection
  let inFlushKills = 0;
  const log: string[] = [];
  for (let kill = 0; kill < KILLS; kill++) {
    const mode = modes[Math.floor(rand() * modes.length)];
    const run = await runAndKill(dir, committed, mode, rand);
    assert.equal(run.signal, 'SIGKILL', `the writer was killed, not ended (${run.stderr})`);
    if (run.killedInFlush) inFlushKills++;

    // The crashed state itself is consistent (a lagging index is a warning, not a problem).
    const raw = await checkCollection(dir);
    assert.deepEqual(raw.problems, [], `check after kill ${kill} (${mode})`);
    if (run.startedOpen && run.ready) assert.ok(readLockHolder(dir) !== undefined, 'the dead writer left its lock');

    const c = await Collection.open(dir, { encoder }); // recovers the lock of the dead pid
    const prefix = await committedPrefix(c, run.lastAck);
    assert.ok(prefix >= committed);
    // The index agrees: every present batch is found through a filtered search.
    const probe = await c.search('batch apples', { k: 5, filter: { batch: { $gte: 0 } } });
    assert.equal(probe.length, Math.min(5, c.count()));
    assert.equal(c.info().indexSize, c.count());
    await c.close();
    const after = await checkCollection(dir);
    assert.deepEqual(after.problems, []);
    assert.deepEqual(after.warnings, []);
    log.push(`kill ${kill}: ${mode}${run.killedInFlush ? ' (during index persistence)' : ''}, acked through ${run.lastAck}, committed ${prefix} batches, index ${c.indexStatus.action}`);
    committed = prefix;
  }
  const seconds = (performance.now() - t0) / 1000;
  console.log(`${log.join('\n')}\n${KILLS} kills, ${inFlushKills} during index persistence, ${committed} batches committed, ${seconds.toFixed(1)} s`);
  assert.ok(committed >= 30, `the ingest made progress across kills (${committed} batches)`);
  assert.ok(inFlushKills >= 2, `some kills landed during index persistence (${inFlushKills})`);
});
