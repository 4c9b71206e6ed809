import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { checkRerankOptions, rerankOptions, retrieverFrom, type RerankCliOptions } from '../../src/cli/rerank-options.ts';
import { modelOptions, type ModelCliOptions } from '../../src/cli/model-options.ts';
import { Collection } from '../../src/collection/collection.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { loadOnnxEncoder } from '../../src/encoders/onnx/onnx-encoder.ts';
import { isBiencoderError } from '../../src/errors.ts';
import { scifactDocs, syntheticModel, tempDir } from '../helpers/synthetic.ts';
import { syntheticCrossEncoder } from '../helpers/synthetic-cross-encoder.ts';

const tmp = tempDir('rerank-cli');
let encoder: Encoder;
let collection: Collection;
let ceDir: string;
before(async () => {
  encoder = await loadOnnxEncoder(await syntheticModel(tmp.dir, 'bi', { tiny: true }));
  ceDir = await syntheticCrossEncoder(tmp.dir, 'ce', { maxLength: 64 });
  collection = await Collection.create(join(tmp.dir, 'col'), { encoder, index: { kind: 'flat' } });
  await collection.upsert(scifactDocs(30).map((text, i) => ({ id: `d${i}`, text })));
});
after(async () => {
  await collection.close();
  await encoder.close();
  tmp.cleanup();
});

/** Parses argv with a command carrying the model and rerank options; returns the parsed options or the usage error. */
async function parse(argv: string[]): Promise<{ opts?: RerankCliOptions & ModelCliOptions; error?: CommanderError }> {
  let parsed: (RerankCliOptions & ModelCliOptions) | undefined;
  const cmd = new Command('search').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  modelOptions(cmd);
  rerankOptions(cmd);
  cmd.action((opts: RerankCliOptions & ModelCliOptions, command: Command) => {
    checkRerankOptions(command, opts);
    parsed = opts;
  });
  try {
    await cmd.parseAsync(argv, { from: 'user' });
    return { opts: parsed };
  } catch (error) {
    if (error instanceof CommanderError) return { error };
    throw error;
  }
}

test('the options parse and build a reranking Retriever', async () => {
  const { opts } = await parse(['--rerank', ceDir, '--rerank-top', '12', '--rerank-budget-ms', '5000', '--rerank-batch-size', '4']);
  assert.deepEqual(opts, { rerank: ceDir, rerankTop: 12, rerankBudgetMs: 5000, rerankBatchSize: 4 });
  const { retriever, reranker, close } = await retrieverFrom(collection, opts!);
  try {
    assert.equal(retriever.candidates, 12);
    assert.equal(retriever.budgetMs, 5000);
    assert.equal(reranker?.modelId, ceDir);
    const result = await retriever.search('protein folding', { k: 3 });
    assert.equal(result.candidates, 12);
    assert.ok(result.reranked > 0);
    assert.equal(result.hits.length, 3);
    assert.ok(result.hits.every((h) => h.rerankScore !== null));
  } finally {
    await close();
  }
  await assert.rejects(reranker!.rank('q', ['d']), (e) => isBiencoderError(e, 'CLOSED'));
});

test('without --rerank: the bi-encoder alone, default top 100', async () => {
  const { opts } = await parse([]);
  const { retriever, reranker, close } = await retrieverFrom(collection, opts!);
  assert.equal(reranker, undefined);
  assert.equal(retriever.candidates, 100);
  assert.equal((await retriever.search('protein folding', { k: 2 })).reranked, 0);
  await close();
});

test('usage errors (CommanderError, exit 2 in main): bad numbers, --rerank-* without --rerank', async () => {
  for (const argv of [['--rerank', ceDir, '--rerank-top', '0'], ['--rerank', ceDir, '--rerank-top', 'ten'], ['--rerank', ceDir, '--rerank-budget-ms', '-5'], ['--rerank-top', '5'], ['--rerank-budget-ms', '100']]) {
    const { error } = await parse(argv);
    // main() turns every CommanderError into exit code 2 (usage).
    assert.ok(error instanceof CommanderError, argv.join(' '));
  }
  const { error } = await parse(['--rerank-top', '5']);
  assert.match(error!.message, /--rerank-top needs --rerank MODEL/);
});

test('a missing reranker model is MODEL_NOT_FOUND', async () => {
  const { opts } = await parse(['--rerank', join(tmp.dir, 'nope')]);
  await assert.rejects(retrieverFrom(collection, opts!), (e) => isBiencoderError(e, 'MODEL_NOT_FOUND'));
});
