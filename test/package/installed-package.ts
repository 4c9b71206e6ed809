/**
 * The package as a user gets it (`npm run test:package`, run by .ci/run, not by `npm test`): packs
 * the tarball, installs it into an empty project with no .npmrc and only the documented
 * ONNXRUNTIME_NODE_INSTALL=skip, then uses it from plain JavaScript (ESM and CommonJS), type-checks
 * a consumer and the README's TypeScript blocks, runs the CLI's demo, and reads the module graph of
 * the root import.
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/synthetic.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const tmp = tempDir('package');
const project = join(tmp.dir, 'consumer');
after(() => tmp.cleanup());

/** The user's environment: none of npm's own variables from `npm run`, the one documented setting. */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'NODE_OPTIONS' && k !== 'INIT_CWD') env[k] = v;
  return { ...env, ONNXRUNTIME_NODE_INSTALL: 'skip', ...extra };
}

function run(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd: options.cwd ?? project, env: options.env ?? userEnv(), encoding: 'utf8', timeout: options.timeout ?? 600_000, maxBuffer: 64 << 20 });
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(r.status, 0, `${what} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

interface PackResult {
  readonly filename: string;
  readonly size: number;
  readonly unpackedSize: number;
  readonly entryCount: number;
  readonly files: readonly { readonly path: string }[];
}

let packed: PackResult;
let installLog = '';
let installSeconds = 0;

before(() => {
  const out = ok(run('npm', ['pack', '--json', '--pack-destination', tmp.dir], { cwd: ROOT, env: userEnv() }), 'npm pack');
  packed = (JSON.parse(out.slice(out.indexOf('['))) as PackResult[])[0];
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }, null, 2));
  const started = performance.now();
  const install = run('npm', ['install', '--no-audit', '--no-fund', join(tmp.dir, packed.filename)]);
  installSeconds = (performance.now() - started) / 1000;
  installLog = `${install.stdout}\n${install.stderr}`;
  ok(install, 'npm install of the tarball');
}, { timeout: 1_200_000 });

test('the tarball holds what users need and no tests, benches or scripts', (t) => {
  const paths = packed.files.map((f) => f.path);
  t.diagnostic(`${packed.filename}: ${packed.entryCount} files, packed ${(packed.size / 1024).toFixed(0)} KiB, unpacked ${(packed.unpackedSize / 1024).toFixed(0)} KiB; install ${installSeconds.toFixed(1)} s`);
  for (const p of paths) assert.doesNotMatch(p, /^(test|bench|scripts|\.ci)\/|\.test\.|^tsconfig|^eslint/, `${p} is not for users`);
  for (const needed of [
    'package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts', 'dist/index.js.map', 'dist/index.d.ts.map', 'dist/cli/bin.js',
    'dist/server/index.js', 'dist/collection/pgvector/index.js', 'dist/eval/index.js', 'dist/encoders/use-lite/worker.js',
    'dist/server/page/index.html', 'dist/server/page/app.js', 'dist/server/page/style.css', 'samples/xquad-en-paragraphs.jsonl', 'samples/README.md',
  ]) assert.ok(paths.includes(needed), `the tarball has ${needed}`);
});

/**
 * The one engine warning left: usearch 2.26 declares Node >= 22 (it runs on Node 20: every test here
 * does), and 2.25.3, the last release that declares Node 20, strands removed keys under churn
 * (test/index/hnsw-churn.test.ts fails on it).
 */
const KNOWN_ENGINE_WARNINGS = ['usearch'];

test('the install warns of no engine but usearch 2.26, and of no unknown project config', (t) => {
  const warned = [...installLog.matchAll(/EBADENGINE\s+package: '((?:@[^/@]+\/)?[^@']+)@([^']+)'/g)].map((m) => ({ name: m[1], version: m[2] }));
  assert.equal(warned.length, (installLog.match(/EBADENGINE Unsupported engine/g) ?? []).length, installLog);
  for (const w of warned) assert.ok(KNOWN_ENGINE_WARNINGS.includes(w.name), `EBADENGINE for ${w.name}@${w.version}:\n${installLog}`);
  t.diagnostic(`engine warnings: ${warned.map((w) => `${w.name}@${w.version}`).join(', ') || 'none'}`);
  assert.doesNotMatch(installLog, /Unknown project config/, installLog);
});

const ESM = `
import { loadEncoder, createCollection, openCollection } from 'biencoder';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const encoder = await loadEncoder();
const e = await encoder.encode(['The cat sat on the mat.', 'Paris is the capital of France.']);
const norms = [0, 1].map((r) => Math.hypot(...e.data.subarray(r * e.dims, (r + 1) * e.dims)));
const dir = join(mkdtempSync(join(tmpdir(), 'consumer-')), 'kb');
const col = await createCollection(dir, { encoder });
await col.upsert([
  { id: 'paris', text: 'Paris is the capital and largest city of France.', metadata: { lang: 'en' } },
  { id: 'cats', text: 'Cats purr when they are content.', metadata: { lang: 'en' } },
  { id: 'rust', text: 'Rust is a systems programming language.', metadata: { lang: 'en' } },
]);
await col.close();
const reopened = await openCollection(dir, { encoder, readOnly: true });
const hits = await reopened.search('Which city is the capital of France?', { k: 2, filter: { lang: 'en' } });
await reopened.close();
await encoder.close();
console.log(JSON.stringify({ rows: e.rows, dims: e.dims, norms, hits: hits.map((h) => h.id), count: hits.length }));
`;

test('a plain .mjs imports biencoder, embeds with the default encoder, creates, upserts and searches a collection', { timeout: 300_000 }, () => {
  writeFileSync(join(project, 'use.mjs'), ESM);
  const out = JSON.parse(ok(run('node', ['use.mjs']), 'node use.mjs').trim().split('\n').at(-1)!) as { rows: number; dims: number; norms: number[]; hits: string[] };
  assert.equal(out.rows, 2);
  assert.equal(out.dims, 512);
  for (const n of out.norms) assert.ok(Math.abs(n - 1) < 1e-4, `unit vectors: ${out.norms}`);
  assert.equal(out.hits[0], 'paris');
  assert.equal(out.hits.length, 2);
});

test('a .cjs file require()s biencoder and embeds', { timeout: 300_000 }, () => {
  writeFileSync(join(project, 'use.cjs'), `
const { loadEncoder, BiencoderError } = require('biencoder');
(async () => {
  const encoder = await loadEncoder();
  const e = await encoder.encode(['one text', 'another text']);
  await encoder.close();
  console.log(JSON.stringify({ rows: e.rows, dims: e.dims, norm: Math.hypot(...e.data.subarray(0, e.dims)), error: typeof BiencoderError }));
})();
`);
  const r = run('node', ['use.cjs']);
  const out = JSON.parse(ok(r, 'node use.cjs').trim().split('\n').at(-1)!) as { rows: number; dims: number; norm: number; error: string };
  assert.deepEqual({ rows: out.rows, dims: out.dims, error: out.error }, { rows: 2, dims: 512, error: 'function' });
  assert.ok(Math.abs(out.norm - 1) < 1e-4);
  assert.doesNotMatch(r.stderr, /Warning/, r.stderr);
});

test('importing the root loads no fastify, pg or TF.js; the subpaths load; `biencoder --help` loads only commander', { timeout: 120_000 }, () => {
  // A resolve hook sees every module the ES module graph resolves; CommonJS packages loaded from
  // there are in require.cache too. Printed at exit: the packages under node_modules that loaded.
  writeFileSync(join(project, 'hooks.mjs'), `
let port;
export function initialize(data) { port = data.port; }
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  port.postMessage(r.url);
  return r;
}
`);
  writeFileSync(join(project, 'loaded.mjs'), `
import { register, createRequire } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
const urls = [];
port1.on('message', (u) => urls.push(u));
port1.unref();
register('./hooks.mjs', { parentURL: import.meta.url, data: { port: port2 }, transferList: [port2] });
process.on('exit', () => {
  const files = [...urls, ...Object.keys(createRequire(import.meta.url).cache)];
  const packages = new Set(files.map((u) => (u.match(/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//) ?? [])[1]).filter(Boolean));
  process.stderr.write('LOADED ' + JSON.stringify([...packages].sort()) + '\\n');
});
`);
  writeFileSync(join(project, 'import.mjs'), 'await import(process.argv[2]);\n');
  const loadedBy = (args: readonly string[]): string[] => {
    const r = run('node', ['--import', './loaded.mjs', ...args]);
    ok(r, args.join(' '));
    const line = r.stderr.split('\n').find((l) => l.startsWith('LOADED '));
    assert.ok(line, r.stderr);
    return JSON.parse(line.slice('LOADED '.length)) as string[];
  };
  const root = loadedBy(['import.mjs', 'biencoder']);
  assert.ok(root.includes('biencoder') && root.includes('better-sqlite3'), `the graph is seen: ${root.join(' ')}`);
  for (const heavy of ['fastify', 'pg', 'pino', 'prom-client', '@langchain/core', '@ai-sdk/provider', '@modelcontextprotocol/sdk', 'zod', '@llamaindex/core']) assert.ok(!root.includes(heavy), `the root import loads ${heavy}: ${root.join(' ')}`);
  assert.ok(!root.some((p) => p.startsWith('@tensorflow/')), `the root import loads TF.js: ${root.join(' ')}`);
  assert.ok(loadedBy(['import.mjs', 'biencoder/server']).includes('fastify'));
  assert.ok(loadedBy(['import.mjs', 'biencoder/pgvector']).includes('pg'));
  assert.ok(loadedBy(['import.mjs', 'biencoder/eval']).includes('biencoder'));
  const help = loadedBy([join('node_modules', 'biencoder', 'dist', 'cli', 'bin.js'), '--help']);
  assert.deepEqual(help.filter((p) => p !== 'biencoder'), ['commander'], `biencoder --help loads only commander: ${help.join(' ')}`);
});

/** A consumer that uses the public types, the subpaths, and is refused the internals. */
const CONSUMER_TS = `
import { BiencoderError, loadEncoder, Collection, openCollection, HnswIndex, FlatIndex, matrixFromRows, Retriever, chunkText, type CollectionApi, type Matrix, type SearchHit } from 'biencoder';
import { createServer, type ServerOptions } from 'biencoder/server';
import { PgvectorCollection } from 'biencoder/pgvector';
import { evaluateRun, type Qrels } from 'biencoder/eval';
import { BiencoderEmbeddings, BiencoderVectorStore } from 'biencoder/langchain';
import { createBiencoder } from 'biencoder/ai-sdk';
import { createMcpServer } from 'biencoder/mcp';
// @ts-expect-error internals are not exported from the root
import { prepareTexts } from 'biencoder';

export async function use(): Promise<SearchHit[]> {
  const encoder = await loadEncoder();
  const m: Matrix = matrixFromRows([[1, 0], [0, 1]]);
  const index = new HnswIndex({ dims: 2, metric: 'cosine' });
  index.add(new BigUint64Array([1n, 2n]), m);
  new FlatIndex({ dims: 2, metric: 'dot' });
  const col: CollectionApi = await openCollection('./kb', { encoder });
  const embedded: Collection = await Collection.open('./kb', { encoder });
  const retriever = new Retriever({ collection: embedded });
  await retriever.search('q', { k: 3 });
  const { hits } = await retriever.retrieve('q', { k: 3, results: 'documents', wholeDocuments: true });
  void hits[0]?.document?.text;
  const store = new BiencoderVectorStore(new BiencoderEmbeddings({ encoder }), { collection: col });
  await store.asRetriever({ k: 2, filter: { lang: 'en' } }).invoke('q');
  const provider = createBiencoder({ encoders: { kb: encoder } });
  await provider.embeddingModel('kb').doEmbed({ values: ['a'] });
  const mcp = await createMcpServer({ collections: { names: () => ['kb'], get: async () => col, write: (fn) => fn() }, indexRoots: ['./docs'] });
  await mcp.close();
  const chunks: string[] = chunkText('doc-1', 'A long text. Another sentence.', encoder, { maxTokens: 64 }).map((c) => c.text);
  const options: ServerOptions = { collections: {} };
  void createServer;
  void PgvectorCollection;
  const qrels: Qrels = new Map();
  void evaluateRun;
  void prepareTexts;
  void options;
  void qrels;
  void chunks;
  try {
    return await col.search('q', { k: 1 });
  } catch (error) {
    if (error instanceof BiencoderError) throw new Error(error.code);
    throw error;
  }
}
`;

/** A consumer of biencoder/llamaindex (checked apart: see the tsc test). */
const CONSUMER_LLAMAINDEX_TS = `
import { loadEncoder, openCollection } from 'biencoder';
import { BiencoderLlamaEmbedding, BiencoderLlamaVectorStore } from 'biencoder/llamaindex';

export async function use(): Promise<void> {
  const encoder = await loadEncoder();
  const collection = await openCollection('./kb', { encoder });
  const store = new BiencoderLlamaVectorStore({ collection, embeddingModel: new BiencoderLlamaEmbedding({ encoder }) });
  await store.delete('doc-1');
}
`;

test('tsc type-checks a consumer and the TypeScript blocks of README.md and docs/ under nodenext and bundler resolution', { timeout: 300_000 }, () => {
  // openai: docs/server.md shows its client against the server; @langchain/*: the README's and
  // docs/langchain.md's LangChain examples (biencoder/langchain's optional peer).
  ok(run('npm', ['install', '--no-audit', '--no-fund', '--save-dev', `typescript@${devRange('typescript')}`, '@types/node@20', `openai@${devRange('openai')}`,
    `@langchain/core@${devRange('@langchain/core')}`, `@langchain/classic@${devRange('@langchain/classic')}`, `ai@${devRange('ai')}`, `@ai-sdk/provider@${devRange('@ai-sdk/provider')}`,
    `@modelcontextprotocol/sdk@${devRange('@modelcontextprotocol/sdk')}`, `zod@${devRange('zod')}`,
    // @ai-sdk/provider's declarations import 'json-schema' types it does not depend on (skipLibCheck: false needs them).
    '@types/json-schema@^7.0.15', `@llamaindex/core@${devRange('@llamaindex/core')}`, `llamaindex@${devRange('llamaindex')}`]), 'npm install typescript');
  const llama = ok(run('node', ['--input-type=module', '-e', "const m = await import('biencoder/llamaindex'); console.log(Object.keys(m).sort().join(' '))"]), 'import biencoder/llamaindex');
  assert.equal(llama.trim(), 'BiencoderLlamaEmbedding BiencoderLlamaVectorStore REF_DOC_ID_KEY toBiencoderFilter');
  // The LangChain subpath loads once its peer is there, and exports its classes.
  const langchain = ok(run('node', ['--input-type=module', '-e', "const m = await import('biencoder/langchain'); console.log(Object.keys(m).sort().join(' '))"]), 'import biencoder/langchain');
  assert.equal(langchain.trim(), 'BiencoderEmbeddings BiencoderRerank BiencoderVectorStore');
  const aiSdk = ok(run('node', ['--input-type=module', '-e', "const { createBiencoder } = await import('biencoder/ai-sdk'); const p = createBiencoder(); console.log(p.specificationVersion, p.embeddingModel('use-lite').maxEmbeddingsPerCall)"]), 'import biencoder/ai-sdk');
  assert.equal(aiSdk.trim(), 'v3 256');
  writeFileSync(join(project, 'consumer.ts'), CONSUMER_TS);
  writeFileSync(join(project, 'consumer-llamaindex.ts'), CONSUMER_LLAMAINDEX_TS);
  const files = ['consumer.ts', 'consumer-llamaindex.ts'];
  const docs = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  for (const doc of docs) {
    const blocks = [...readFileSync(join(ROOT, doc), 'utf8').matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
    if (doc === 'README.md') assert.ok(blocks.length >= 3, `the README has TypeScript blocks (${blocks.length})`);
    blocks.forEach((code, i) => {
      // Each block stands alone as a module, as it is written.
      const file = `${doc.replace(/[/.]/g, '-')}-${i + 1}.ts`;
      writeFileSync(join(project, file), `${code}\nexport {};\n`);
      files.push(file);
    });
  }
  assert.ok(files.length >= 12, `blocks found: ${files.join(' ')}`);
  // LlamaIndex's own declarations do not type-check with skipLibCheck: false (@llamaindex/core 0.6.22:
  // TS2344 on z3.infer<R> in tools/dist/index.d.ts; @llamaindex/node-parser imports html-to-text, which has no
  // types): files that import it are checked with skipLibCheck: true (their use of our API is still checked);
  // everything else, our own declarations included, with skipLibCheck: false.
  const usesLlamaIndex = (file: string): boolean => /from 'llamaindex'|from 'biencoder\/llamaindex'/.test(readFileSync(join(project, file), 'utf8'));
  const groups = [
    { label: 'strict', files: files.filter((f) => !usesLlamaIndex(f)), skipLibCheck: false },
    { label: 'llamaindex', files: files.filter(usesLlamaIndex), skipLibCheck: true },
  ];
  assert.ok(groups[1].files.length >= 1, 'the LlamaIndex example and consumer are checked');
  for (const group of groups) {
    const common = { strict: true, noEmit: true, skipLibCheck: group.skipLibCheck, target: 'es2022', types: ['node'] };
    for (const [name, options] of [
      ['nodenext', { module: 'nodenext', moduleResolution: 'nodenext' }],
      ['bundler', { module: 'esnext', moduleResolution: 'bundler' }],
    ] as const) {
      const config = `tsconfig.${group.label}.${name}.json`;
      writeFileSync(join(project, config), JSON.stringify({ compilerOptions: { ...common, ...options }, files: group.files }, null, 2));
      ok(run(join(project, 'node_modules', '.bin', 'tsc'), ['-p', config]), `tsc (${group.label}, ${name})`);
    }
  }
});

function devRange(name: string): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  return pkg.devDependencies[name];
}

test('npx biencoder demo runs from the installed package, offline', { timeout: 600_000 }, () => {
  const env = userEnv({ XDG_CACHE_HOME: join(tmp.dir, 'cache'), HF_HUB_OFFLINE: '1' });
  const help = run('npx', ['--no-install', 'biencoder', '--help'], { env });
  assert.match(ok(help, 'biencoder --help'), /Commands:[\s\S]*demo/);
  const out = ok(run('npx', ['--no-install', 'biencoder', 'demo'], { env }), 'npx biencoder demo');
  assert.match(out, /indexed 240 documents/);
  const hits = [...out.matchAll(/^ {2}(\d)\. ([\d.]+) {2}(xquad-en-\d+) {2}([^[\n]+)/gm)];
  assert.equal(hits.length, 5, out);
  assert.equal(hits[0][4].trim(), 'Oxygen', out);
});
