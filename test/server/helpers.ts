import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Collection } from '../../src/collection/collection.ts';
import { chunkDocuments } from '../../src/chunking/chunker.ts';
import { CHUNK_METADATA_KEY } from '../../src/chunking/group-by-document.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { scifactDocs } from '../helpers/synthetic.ts';
import { CLI } from '../helpers/cli-bin.ts';

export interface JsonResponse {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
  json<T = Record<string, unknown>>(): T;
}

/** The long documents stored chunked: scifact abstracts cut into chunks of at most 48 tokens. */
export const CHUNKED_IDS = ['long-0', 'long-1', 'long-2'];

/** Full texts of the chunked documents, by id. */
export function longTexts(): Map<string, string> {
  const docs = scifactDocs(3, 100);
  return new Map(CHUNKED_IDS.map((id, i) => [id, docs[i]]));
}

/**
 * Creates a collection in root/name: 40 short scifact documents stored whole (ids s0..s39,
 * metadata { i, even }) and three long ones stored as chunks under the chunking convention.
 */
export async function makeCollection(root: string, name: string, encoder: Encoder): Promise<string> {
  const dir = join(root, name);
  const c = await Collection.create(dir, { encoder, index: { kind: 'flat' } });
  try {
    const short = scifactDocs(40).map((text, i) => ({ id: `s${i}`, text: text.slice(0, 300), metadata: { i, even: i % 2 === 0 } }));
    await c.upsert(short);
    const long = longTexts();
    const chunks = chunkDocuments([...long].map(([id, text]) => ({ id, text })), encoder, { maxTokens: 48 });
    assert.ok(chunks.length > 6, 'the long documents make several chunks each');
    await c.upsert(chunks.map((ch) => ({
      id: `${ch.parentId}#${ch.index}`,
      text: ch.text,
      metadata: { kind: 'long', [CHUNK_METADATA_KEY]: { parent: ch.parentId, index: ch.index, start: ch.start, end: ch.end } },
    })), { chunkRows: true });
  } finally {
    await c.close();
  }
  return dir;
}

export { cosine } from '../helpers/vector-math.ts';


/** A `biencoder` CLI child process (usually `serve`): its stderr so far, its exit code, and its URL once listening. */
export interface CliProcess {
  readonly child: ChildProcess;
  stderr(): string;
  readonly exit: Promise<number | null>;
  /** Resolves with the URL the server prints ("listening on URL"); never rejects. */
  readonly listening: Promise<string>;
  /** The URL once listening; rejects with its stderr if the process exits first. */
  url(): Promise<string>;
}

export function spawnCli(args: readonly string[]): CliProcess {
  const child = spawn(process.execPath, [...CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let resolveUrl: (url: string) => void;
  const listening = new Promise<string>((resolve) => {
    resolveUrl = resolve;
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    const m = /listening on (http:\/\/\S+)/.exec(err);
    if (m) resolveUrl(m[1]);
  });
  child.stdout!.resume();
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child, stderr: () => err, exit, listening,
    url: () => Promise.race([listening, exit.then((code): never => { throw new Error(`exited ${code}: ${err}`); })]),
  };
}

/** Asserts an error response: its status, its stable `code`, a string message (matching `message` when given). */
export function assertError(res: { statusCode: number; json(): unknown }, status: number, code: string, message?: RegExp): void {
  const body = res.json() as { code: string; message: string };
  assert.equal(res.statusCode, status, `status of ${JSON.stringify(body)}`);
  assert.equal(body.code, code);
  assert.equal(typeof body.message, 'string');
  if (message) assert.match(body.message, message);
}
