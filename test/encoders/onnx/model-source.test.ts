import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { isBiencoderError, type ErrorCode } from '../../../src/errors.ts';
import {
  defaultCacheDir,
  fetchModelFile,
  listCachedModels,
  parseHubId,
  resolveModel,
  type ModelFileRequest,
} from '../../../src/encoders/onnx/model-source.ts';

const REPO = 'acme/tiny-model';
const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const MODEL = 'onnx/model.onnx';
const SOURCE = new Map<string, Buffer>([
  ['config.json', Buffer.from(JSON.stringify({ model_type: 'bert', hidden_size: 8 }))],
  ['tokenizer.json', Buffer.from(JSON.stringify({ version: '1.0', model: { type: 'WordPiece' } }))],
  [MODEL, randomBytes(1 << 20)],
]);
const FILES: ModelFileRequest[] = [{ path: 'config.json' }, { path: 'tokenizer.json' }, { path: MODEL }];

interface Seen {
  file: string;
  revision: string;
  range: string | undefined;
  auth: string | undefined;
}

/** Misbehaviours for the next requests, by file path. */
const hooks = {
  dropOnce: new Set<string>(), // send half the bytes, then destroy the socket (once)
  lie: new Set<string>(), // announce a bigger x-linked-size than the bytes sent
  stall: new Set<string>(), // send half the bytes, then nothing
  status: new Map<string, number>(), // answer this status
};
let seen: Seen[] = [];
let server: http.Server;
let endpoint: string;
/** A second origin, like the CDN the hub redirects LFS files to. */
let cdn: http.Server;
let cdnEndpoint: string;
let cacheDir: string;
const tempDirs: string[] = [];

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  const parts = new URL(req.url ?? '/', 'http://x').pathname.split('/').map(decodeURIComponent);
  if (parts[1] === 'lfs') {
    const file = parts.slice(2).join('/');
    seen.push({ file: `lfs:${file}`, revision: '', range: req.headers.range, auth: req.headers.authorization });
    const body = SOURCE.get(file);
    if (body === undefined) return void res.writeHead(404).end();
    return serve(req, res, file, body, {});
  }
  // ['', org, name, 'resolve', revision, ...path]
  const repo = `${parts[1]}/${parts[2]}`;
  const revision = parts[4] ?? '';
  const file = parts.slice(5).join('/');
  seen.push({ file, revision, range: req.headers.range, auth: req.headers.authorization });
  if (parts[3] !== 'resolve') return void res.writeHead(400).end();
  if (repo === 'acme/private' && req.headers.authorization !== 'Bearer secret') {
    return void res.writeHead(401, { 'x-error-code': 'RepoNotFound' }).end();
  }
  if (repo === 'acme/lfs-model' && SOURCE.has(file)) {
    const location = `${cdnEndpoint}/lfs/${file}`;
    return void res.writeHead(302, { location, 'x-repo-commit': COMMIT, 'x-linked-size': SOURCE.get(file)?.length }).end();
  }
  if (repo === 'acme/plain' && SOURCE.has(file)) return serve(req, res, file, SOURCE.get(file) as Buffer, {}); // no x-repo-commit
  if (repo !== REPO && repo !== 'acme/private') return void res.writeHead(401, { 'x-error-code': 'RepoNotFound' }).end();
  if (revision !== 'main' && revision !== COMMIT) return void res.writeHead(404, { 'x-error-code': 'RevisionNotFound' }).end();
  const forced = hooks.status.get(file);
  if (forced !== undefined) return void res.writeHead(forced, { 'x-repo-commit': COMMIT }).end();
  const body = SOURCE.get(file);
  if (body === undefined) return void res.writeHead(404, { 'x-error-code': 'EntryNotFound', 'x-repo-commit': COMMIT }).end();

  serve(req, res, file, body, { 'x-repo-commit': COMMIT });
}

function serve(req: http.IncomingMessage, res: http.ServerResponse, file: string, body: Buffer, extra: http.OutgoingHttpHeaders): void {
  const headers: http.OutgoingHttpHeaders = { ...extra, 'content-type': 'application/octet-stream' };
  let start = 0;
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (range) {
    start = Number(range[1]);
    if (start >= body.length) {
      return void res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
    }
    headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
  }
  const slice = body.subarray(start);
  headers['content-length'] = slice.length;
  if (hooks.lie.has(file)) headers['x-linked-size'] = body.length + 1000;
  res.writeHead(range ? 206 : 200, headers);
  const half = slice.subarray(0, slice.length >> 1);
  if (hooks.dropOnce.delete(file)) {
    res.write(half, () => res.socket?.destroy());
  } else if (hooks.stall.has(file)) {
    res.write(half);
  } else {
    res.end(slice);
  }
}

async function expectError(promise: Promise<unknown>, code: ErrorCode, ...patterns: Array<string | RegExp>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isBiencoderError(error, code), `expected ${code}, got ${String(error)}`);
    for (const p of patterns) {
      if (typeof p === 'string') assert.ok(error.message.includes(p), `message lacks ${JSON.stringify(p)}: ${error.message}`);
      else assert.match(error.message, p);
    }
    return error;
  }
  assert.fail(`expected ${code}, but it resolved`);
}

function snapshotDir(dir = cacheDir): string {
  return path.join(dir, 'models--acme--tiny-model', 'snapshots', COMMIT);
}

function assertSameBytes(dir: string, files: readonly string[] = [...SOURCE.keys()]): void {
  for (const file of files) assert.deepEqual(fs.readFileSync(path.join(dir, file)), SOURCE.get(file), file);
}

const ENV_KEYS = ['HF_HUB_OFFLINE', 'HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', 'HF_ENDPOINT', 'HF_HUB_CACHE', 'HF_HOME'];
const savedEnv = new Map(ENV_KEYS.map((k) => [k, process.env[k]]));

before(async () => {
  for (const k of ENV_KEYS) delete process.env[k];
  server = http.createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cdn = http.createServer(handle);
  await new Promise<void>((resolve) => cdn.listen(0, '127.0.0.1', resolve));
  cdnEndpoint = `http://127.0.0.1:${(cdn.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  cdn.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await new Promise<void>((resolve) => cdn.close(() => resolve()));
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  for (const [k, v] of savedEnv) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

beforeEach(() => {
  seen = [];
  hooks.dropOnce.clear();
  hooks.lie.clear();
  hooks.stall.clear();
  hooks.status.clear();
  cacheDir = tempDir('biencoder-hub-');
});

afterEach(() => {
  delete process.env.HF_HUB_OFFLINE;
  server.closeAllConnections();
});

describe('parseHubId / defaultCacheDir', () => {
  it('parses hub ids and refuses paths', () => {
    assert.deepEqual(parseHubId('org/name'), { repo: 'org/name', revision: 'main' });
    assert.deepEqual(parseHubId('org/name@v1.0'), { repo: 'org/name', revision: 'v1.0' });
    assert.deepEqual(parseHubId('Xenova/bge-small-en-v1.5@refs/pr/3'), { repo: 'Xenova/bge-small-en-v1.5', revision: 'refs/pr/3' });
    assert.deepEqual(parseHubId('bert-base-uncased'), { repo: 'bert-base-uncased', revision: 'main' });
    for (const bad of ['', './x', '../x', '/abs/dir', '~/m', 'a/b/c', 'org/..', 'org/na--me', 'org/name@', 'org/name@../x', 'a b/c']) {
      assert.equal(parseHubId(bad), null, bad);
    }
  });

  it('follows the HF cache conventions', () => {
    assert.equal(defaultCacheDir({ HF_HUB_CACHE: '/x/hub', HF_HOME: '/y' }), path.resolve('/x/hub'));
    assert.equal(defaultCacheDir({ HF_HOME: '/y' }), path.resolve('/y', 'hub'));
    assert.equal(defaultCacheDir({}), path.join(os.homedir(), '.cache', 'huggingface', 'hub'));
  });
});

describe('resolveModel from the hub', () => {
  it('downloads the files into a commit snapshot, byte for byte, and records refs/main', async () => {
    const progress: Array<{ file: string; loaded: number; total: number | undefined }> = [];
    const resolved = await resolveModel(REPO, FILES, { cacheDir, endpoint, onDownload: (p) => progress.push(p) });
    assert.deepEqual(resolved, { id: REPO, revision: 'main', dir: snapshotDir(), local: false, commit: COMMIT });
    assertSameBytes(resolved.dir);
    assert.equal(fs.readFileSync(path.join(cacheDir, 'models--acme--tiny-model', 'refs', 'main'), 'utf8'), COMMIT);
    // The first file learns the commit; the others are fetched from that commit.
    assert.deepEqual(
      seen.map((s) => [s.file, s.revision]),
      [
        ['config.json', 'main'],
        ['tokenizer.json', COMMIT],
        [MODEL, COMMIT],
      ],
    );
    const last = progress.filter((p) => p.file === MODEL).at(-1);
    assert.deepEqual(last, { file: MODEL, loaded: 1 << 20, total: 1 << 20 });
    const leftovers = fs.readdirSync(path.join(resolved.dir, 'onnx')).filter((f) => f !== 'model.onnx');
    assert.deepEqual(leftovers, []);
  });

  it('makes no request at all when everything is cached', async () => {
    await resolveModel(REPO, FILES, { cacheDir, endpoint });
    seen = [];
    const again = await resolveModel(REPO, FILES, { cacheDir, endpoint });
    assert.equal(again.dir, snapshotDir());
    assert.equal(seen.length, 0);
  });

  it('resolves from the cache offline, and fails clearly on an offline miss', async () => {
    await resolveModel(REPO, FILES, { cacheDir, endpoint });
    seen = [];
    const failingFetch = (() => Promise.reject(new Error('network used offline'))) as typeof fetch;
    const offline = await resolveModel(REPO, FILES, { cacheDir, endpoint, offline: true, fetch: failingFetch });
    assert.equal(offline.dir, snapshotDir());
    assertSameBytes(offline.dir);

    const emptyCache = tempDir('biencoder-empty-');
    await expectError(
      resolveModel(REPO, FILES, { cacheDir: emptyCache, endpoint, offline: true }),
      'MODEL_NOT_FOUND',
      REPO,
      emptyCache,
      'run once online',
      'HF_HUB_OFFLINE=0',
      'local directory',
    );
    // A cached model that lacks a file names the file.
    await expectError(
      resolveModel(REPO, [{ path: 'onnx/model_quantized.onnx' }], { cacheDir, endpoint, offline: true }),
      'MODEL_NOT_FOUND',
      'onnx/model_quantized.onnx',
      REPO,
      snapshotDir(),
    );
    assert.equal(seen.length, 0);
  });

  it('respects HF_HUB_OFFLINE=1 (and true) from the environment', async () => {
    process.env.HF_HUB_OFFLINE = '1';
    await expectError(resolveModel(REPO, FILES, { cacheDir, endpoint }), 'MODEL_NOT_FOUND', REPO, cacheDir, 'HF_HUB_OFFLINE');
    assert.equal(seen.length, 0);
    // offline: false overrides the environment
    await resolveModel(REPO, FILES, { cacheDir, endpoint, offline: false });
    seen = [];
    process.env.HF_HUB_OFFLINE = 'true';
    assert.equal((await resolveModel(REPO, FILES, { cacheDir, endpoint })).dir, snapshotDir());
    assert.equal(seen.length, 0);
  });

  it('reads HF_ENDPOINT, HF_HUB_CACHE and HF_TOKEN from the environment', async () => {
    process.env.HF_ENDPOINT = endpoint;
    process.env.HF_HUB_CACHE = cacheDir;
    process.env.HF_TOKEN = 'secret';
    try {
      const resolved = await resolveModel('acme/private', [{ path: 'config.json' }]);
      assert.equal(path.dirname(path.dirname(resolved.dir)), path.join(cacheDir, 'models--acme--private'));
      assert.equal(seen[0]?.auth, 'Bearer secret');
    } finally {
      delete process.env.HF_ENDPOINT;
      delete process.env.HF_HUB_CACHE;
      delete process.env.HF_TOKEN;
    }
  });

  it('maps HTTP errors: 404 required, 401/403 gated or private, other statuses', async () => {
    await expectError(resolveModel(REPO, [{ path: 'missing.bin' }], { cacheDir, endpoint }), 'MODEL_NOT_FOUND', REPO, 'missing.bin');
    await expectError(resolveModel('acme/private', [{ path: 'config.json' }], { cacheDir, endpoint }), 'MODEL_NOT_FOUND', 'acme/private', 'gated/private', 'HF_TOKEN');
    hooks.status.set('config.json', 403);
    await expectError(resolveModel(REPO, FILES, { cacheDir, endpoint }), 'MODEL_NOT_FOUND', 'HF_TOKEN');
    hooks.status.set('config.json', 500);
    await expectError(resolveModel(REPO, FILES, { cacheDir, endpoint }), 'DOWNLOAD_FAILED', '500', 'config.json');
    await expectError(resolveModel(`${REPO}@nope`, FILES, { cacheDir, endpoint }), 'MODEL_NOT_FOUND', 'nope');
  });

  it('returns null for an optional 404, remembers it, and stays null offline', async () => {
    const files = [{ path: 'config.json' }, { path: 'onnx/model.onnx_data', optional: true }];
    assert.equal(await fetchModelFile(REPO, 'main', 'onnx/model.onnx_data', { cacheDir, endpoint, optional: true }), null);
    const marker = path.join(cacheDir, 'models--acme--tiny-model', '.no_exist', COMMIT, 'onnx', 'model.onnx_data');
    assert.ok(fs.existsSync(marker));
    await resolveModel(REPO, files, { cacheDir, endpoint });
    seen = [];
    assert.equal(await fetchModelFile(REPO, 'main', 'onnx/model.onnx_data', { cacheDir, endpoint, optional: true }), null);
    assert.equal(await fetchModelFile(REPO, 'main', 'onnx/model.onnx_data', { cacheDir, endpoint, optional: true, offline: true }), null);
    assert.equal((await resolveModel(REPO, files, { cacheDir, endpoint, offline: true })).dir, snapshotDir());
    assert.equal(seen.length, 0);
  });

  it('resumes a download whose connection dropped mid-file', async () => {
    hooks.dropOnce.add(MODEL);
    await expectError(
      fetchModelFile(REPO, 'main', MODEL, { cacheDir, endpoint, retries: 0 }),
      'DOWNLOAD_FAILED',
      MODEL,
      /resume/,
    );
    const target = path.join(snapshotDir(), MODEL);
    assert.ok(!fs.existsSync(target));
    const partial = fs.statSync(`${target}.part`).size;
    assert.ok(partial > 0 && partial < 1 << 20, `partial size ${partial}`);
    assert.ok(!fs.existsSync(`${target}.lock`));

    seen = [];
    assert.equal(await fetchModelFile(REPO, 'main', MODEL, { cacheDir, endpoint }), target);
    assert.deepEqual(fs.readFileSync(target), SOURCE.get(MODEL));
    assert.deepEqual(
      seen.map((s) => s.range),
      [`bytes=${partial}-`],
    );
    assert.ok(!fs.existsSync(`${target}.part`));
  });

  it('retries a dropped connection by itself, with a Range request', async () => {
    hooks.dropOnce.add(MODEL);
    const resolved = await resolveModel(REPO, FILES, { cacheDir, endpoint });
    assertSameBytes(resolved.dir);
    const modelRequests = seen.filter((s) => s.file === MODEL);
    assert.equal(modelRequests.length, 2);
    assert.equal(modelRequests[0]?.range, undefined);
    assert.match(modelRequests[1]?.range ?? '', /^bytes=[1-9]\d*-$/);
  });

  it('follows redirects to another origin (LFS), learning the commit there and not sending the token on', async () => {
    const files = [{ path: MODEL }, { path: 'config.json' }];
    const resolved = await resolveModel('acme/lfs-model', files, { cacheDir, endpoint, token: 'secret' });
    assert.equal(resolved.dir, path.join(cacheDir, 'models--acme--lfs-model', 'snapshots', COMMIT));
    assert.equal(resolved.commit, COMMIT);
    assertSameBytes(resolved.dir, [MODEL, 'config.json']);
    assert.deepEqual(
      seen.map((s) => [s.file, s.auth]),
      [
        [MODEL, 'Bearer secret'],
        [`lfs:${MODEL}`, undefined],
        ['config.json', 'Bearer secret'],
        ['lfs:config.json', undefined],
      ],
    );
  });

  it('names the snapshot by revision when the server sends no commit, and still resumes', async () => {
    hooks.dropOnce.add(MODEL);
    const opts = { cacheDir, endpoint, retries: 0 };
    await expectError(resolveModel('acme/plain', FILES, opts), 'DOWNLOAD_FAILED', MODEL, 'resume');
    seen = [];
    const resolved = await resolveModel('acme/plain', FILES, opts);
    assert.equal(resolved.dir, path.join(cacheDir, 'models--acme--plain', 'snapshots', 'main'));
    assert.equal(resolved.commit, undefined);
    assertSameBytes(resolved.dir);
    // The unknown target costs one discarded full request before the Range request.
    assert.deepEqual(
      seen.map((s) => [s.file, s.range === undefined ? 'full' : 'range']),
      [
        [MODEL, 'full'],
        [MODEL, 'range'],
      ],
    );
    seen = [];
    await resolveModel('acme/plain', FILES, { ...opts, offline: true });
    await resolveModel('acme/plain', FILES, opts);
    assert.equal(seen.length, 0);
    const listed = await listCachedModels({ cacheDir });
    assert.deepEqual(
      listed.map((m) => [m.id, m.revision, m.files]),
      [['acme/plain', 'main', SOURCE.size]],
    );
  });

  it('rejects a file whose size differs from the announced size, keeping the .part', async () => {
    hooks.lie.add(MODEL);
    const size = String(1 << 20);
    const big = String((1 << 20) + 1000);
    await expectError(fetchModelFile(REPO, 'main', MODEL, { cacheDir, endpoint }), 'DOWNLOAD_FAILED', MODEL, size, big);
    const target = path.join(snapshotDir(), MODEL);
    assert.ok(!fs.existsSync(target));
    assert.equal(fs.statSync(`${target}.part`).size, 1 << 20);
  });

  it('stops on abort with ABORTED, keeping the .part, and resumes later', async () => {
    hooks.stall.add(MODEL);
    const controller = new AbortController();
    await expectError(
      fetchModelFile(REPO, 'main', MODEL, {
        cacheDir,
        endpoint,
        signal: controller.signal,
        onDownload: (p) => {
          if (p.loaded > 0) controller.abort();
        },
      }),
      'ABORTED',
    );
    const target = path.join(snapshotDir(), MODEL);
    assert.ok(fs.statSync(`${target}.part`).size > 0);
    assert.ok(!fs.existsSync(`${target}.lock`));

    hooks.stall.clear();
    server.closeAllConnections();
    assert.equal(await fetchModelFile(REPO, 'main', MODEL, { cacheDir, endpoint }), target);
    assert.deepEqual(fs.readFileSync(target), SOURCE.get(MODEL));
    assert.ok(seen.at(-1)?.range?.startsWith('bytes='));

    const aborted = AbortSignal.abort();
    await expectError(resolveModel(REPO, [{ path: 'tokenizer.json' }], { cacheDir, endpoint, signal: aborted }), 'ABORTED');
  });

  it('rejects file paths and ids that would escape the snapshot dir', async () => {
    for (const bad of ['../outside.json', '/etc/passwd', 'onnx/../../x', 'a\\..\\b', 'C:/x', './config.json', 'a//b', '']) {
      await expectError(resolveModel(REPO, [{ path: bad }], { cacheDir, endpoint }), 'INVALID_ARGUMENT');
      await expectError(fetchModelFile(REPO, 'main', bad, { cacheDir, endpoint }), 'INVALID_ARGUMENT');
    }
    await expectError(resolveModel('acme/../../etc', FILES, { cacheDir, endpoint }), 'INVALID_ARGUMENT');
    await expectError(fetchModelFile('acme/..', 'main', 'config.json', { cacheDir, endpoint }), 'INVALID_ARGUMENT');
    await expectError(fetchModelFile(REPO, '../..', 'config.json', { cacheDir, endpoint }), 'INVALID_ARGUMENT');
    assert.equal(seen.length, 0);
  });
});

describe('local directories', () => {
  it('returns a local directory without any request', async () => {
    const dir = tempDir('biencoder-local-');
    fs.writeFileSync(path.join(dir, 'config.json'), '{}');
    assert.deepEqual(await resolveModel(dir, FILES, { cacheDir, endpoint }), { id: dir, revision: undefined, dir, local: true, commit: undefined });
    const relative = `./${path.relative(process.cwd(), dir)}`;
    assert.equal((await resolveModel(relative, FILES, { cacheDir, endpoint })).dir, dir);
    assert.equal(seen.length, 0);
  });

  it('fails with MODEL_NOT_FOUND for a missing local path or a file', async () => {
    const missing = path.join(tempDir('biencoder-local-'), 'nope');
    await expectError(resolveModel(missing, FILES, { cacheDir, endpoint }), 'MODEL_NOT_FOUND', missing);
    await expectError(resolveModel('./definitely/not/here', FILES, { cacheDir, endpoint }), 'MODEL_NOT_FOUND', 'not/here');
    const file = path.join(tempDir('biencoder-local-'), 'model.onnx');
    fs.writeFileSync(file, '');
    await expectError(resolveModel(file, FILES, { cacheDir, endpoint }), 'MODEL_NOT_FOUND', 'not a directory');
    await expectError(resolveModel('a/b/c', FILES, { cacheDir, endpoint }), 'MODEL_NOT_FOUND', 'a/b/c');
    assert.equal(seen.length, 0);
  });
});

describe('the cache', () => {
  it('reads a huggingface_hub cache (refs + snapshots symlinked into blobs) offline', async () => {
    const repoDir = path.join(cacheDir, 'models--acme--tiny-model');
    fs.mkdirSync(path.join(repoDir, 'blobs'), { recursive: true });
    fs.mkdirSync(path.join(repoDir, 'refs'));
    fs.mkdirSync(path.join(snapshotDir(), 'onnx'), { recursive: true });
    fs.writeFileSync(path.join(repoDir, 'refs', 'main'), COMMIT);
    for (const [file, bytes] of SOURCE) {
      const blob = `blob${bytes.length}`;
      fs.writeFileSync(path.join(repoDir, 'blobs', blob), bytes);
      const link = path.join(snapshotDir(), file);
      fs.symlinkSync(path.relative(path.dirname(link), path.join(repoDir, 'blobs', blob)), link);
    }
    const resolved = await resolveModel(REPO, FILES, { cacheDir, offline: true });
    assertSameBytes(resolved.dir);
    const [listed] = await listCachedModels({ cacheDir });
    assert.equal(listed?.bytes, [...SOURCE.values()].reduce((n, b) => n + b.length, 0));
  });

  it('lists cached models with revision, refs, size and file count', async () => {
    assert.deepEqual(await listCachedModels({ cacheDir }), []);
    assert.deepEqual(await listCachedModels({ cacheDir: path.join(cacheDir, 'absent') }), []);
    await resolveModel(REPO, FILES, { cacheDir, endpoint });
    const bytes = [...SOURCE.values()].reduce((n, b) => n + b.length, 0);
    assert.deepEqual(await listCachedModels({ cacheDir }), [
      { id: REPO, revision: COMMIT, refs: ['main'], dir: snapshotDir(), bytes, files: SOURCE.size },
    ]);
  });

  it('removes a stale lock (old mtime, or a dead owner on this host)', async () => {
    const target = path.join(snapshotDir(), 'config.json');
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(`${target}.lock`, '');
    const old = new Date(Date.now() - 11 * 60_000);
    fs.utimesSync(`${target}.lock`, old, old);
    assert.equal(await fetchModelFile(REPO, 'main', 'config.json', { cacheDir, endpoint }), target);
    assertSameBytes(snapshotDir(), ['config.json']);
    assert.ok(!fs.existsSync(`${target}.lock`));

    const tokenizer = path.join(snapshotDir(), 'tokenizer.json');
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid;
    fs.writeFileSync(`${tokenizer}.lock`, JSON.stringify({ pid: deadPid, host: os.hostname() }));
    assert.equal(await fetchModelFile(REPO, 'main', 'tokenizer.json', { cacheDir, endpoint }), tokenizer);
    assertSameBytes(snapshotDir(), ['tokenizer.json']);
  });

  it('waits for a live lock to go away and then uses the completed file', async () => {
    fs.mkdirSync(path.join(cacheDir, 'models--acme--tiny-model', 'refs'), { recursive: true });
    fs.writeFileSync(path.join(cacheDir, 'models--acme--tiny-model', 'refs', 'main'), COMMIT);
    const target = path.join(snapshotDir(), 'config.json');
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(`${target}.lock`, JSON.stringify({ pid: process.pid, host: os.hostname() }));
    const pending = fetchModelFile(REPO, 'main', 'config.json', { cacheDir, endpoint });
    await new Promise((resolve) => setTimeout(resolve, 300));
    fs.writeFileSync(target, 'written by the other process');
    fs.rmSync(`${target}.lock`);
    assert.equal(await pending, target);
    assert.equal(fs.readFileSync(target, 'utf8'), 'written by the other process');
    assert.equal(seen.length, 0);
  });

  it('keeps concurrent downloads of the same files consistent', async () => {
    const results = await Promise.all([1, 2, 3].map(() => resolveModel(REPO, FILES, { cacheDir, endpoint })));
    for (const r of results) {
      assert.equal(r.dir, snapshotDir());
      assertSameBytes(r.dir);
    }
    const leftovers = fs.readdirSync(path.join(snapshotDir(), 'onnx'));
    assert.deepEqual(leftovers, ['model.onnx']);
  });
});
