import { Command } from 'commander';
import { openCollection } from '../../collection/open-collection.ts';
import type { CollectionApi } from '../../collection/collection-api.ts';
import { BiencoderError } from '../../errors.ts';
import { loadBeirDataset, loadJudgedQueries } from '../../eval/beir.ts';
import { tuneCollection, type TuneCollectionResult } from '../../tune/tune-collection.ts';
import { integerOption, usageError } from '../cli-options.ts';
import { loadCollectionEncoder } from '../collection-encoder.ts';
import { collectionTarget } from './index.ts';
import { lockedForCommandLine } from '../locked-collection.ts';
import { modelFetchOptions, type ModelCliOptions } from '../model-options.ts';
import { createProgress } from '../progress.ts';

interface TuneCliOptions extends Omit<ModelCliOptions, 'model'> {
  collection?: string;
  store?: string;
  dataset?: string;
  split: string;
  queries?: string;
  qrels?: string;
  rank: number;
  epochs: number;
  learningRate: number;
  seed: number;
  remove?: boolean;
  json?: boolean;
}

function numberOption(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new BiencoderError('INVALID_ARGUMENT', `expected a positive number, got ${JSON.stringify(value)}`);
  return n;
}

export function tuneCommand(): Command {
  const cmd = new Command('tune')
    .description("Train a query adapter from judged queries and store it with the collection: searches improve, documents are not re-embedded.")
    .addHelpText(
      'after',
      `
  biencoder tune --collection DIR --dataset DIR --split train      a BEIR dataset's judged queries
  biencoder tune --collection DIR --queries FILE --qrels FILE      queries.jsonl ({_id, text}) + qrels TSV
  biencoder tune --collection DIR --remove                         remove the collection's adapter

The adapter maps query embeddings (normalize(q + qAB), low rank) and is trained with in-batch and hard
negatives; a share of the queries is held out for validation (their relevant documents leave every
training pair), training stops when validation nDCG@10 stops improving, and an adapter that does not beat
the identity on validation is not stored. Every search of the collection then uses it (library, CLI,
server, integrations); 'search --no-adapter' and '"adapter": false' compare. See docs/tune.md.
Exit codes: 0 done (stored, or none better than the identity), 1 failure, 2 usage error.`,
    )
    .option('--collection <dir>', 'the collection directory (this or --store)')
    .option('--store <url>', 'a pgvector collection: postgres://user:pw@host/db?collection=NAME')
    .option('--dataset <dir>', 'a BEIR-format dataset whose judged queries train the adapter')
    .option('--split <name>', 'the dataset split to train on', 'train')
    .option('--queries <file>', 'queries as JSON lines {"_id", "text"} (with --qrels)')
    .option('--qrels <file>', 'judgements as TSV: query id, document id, grade (with --queries)')
    .option('--rank <n>', 'rank of the adapter', integerOption(1), 32)
    .option('--epochs <n>', 'most epochs (early stopping usually ends sooner)', integerOption(1), 40)
    .option('--learning-rate <x>', "Adam's step size", numberOption, 0.001)
    .option('--seed <n>', 'random seed (training is deterministic given it)', integerOption(0), 42)
    .option('--remove', "remove the collection's query adapter")
    .option('--json', 'print the result as JSON');
  modelFetchOptions(cmd, "ONNX weights variant (the one the collection's model was indexed with)");
  return cmd.action(async (opts: TuneCliOptions, command: Command) => {
    const target = collectionTarget(opts, command);
    const sources = [opts.dataset !== undefined, opts.queries !== undefined || opts.qrels !== undefined].filter(Boolean).length;
    if (opts.remove) {
      if (sources > 0) usageError(command, '--remove takes no queries');
    } else {
      if (sources !== 1) usageError(command, 'give the judged queries: --dataset DIR [--split train], or --queries FILE --qrels FILE');
      if (opts.dataset === undefined && (opts.queries === undefined || opts.qrels === undefined)) usageError(command, '--queries and --qrels go together');
    }
    let collection: CollectionApi | undefined;
    try {
      if (opts.remove) {
        collection = await openCollection(target);
        const removed = await collection.removeQueryAdapter();
        process.stdout.write(opts.json ? `${JSON.stringify({ removed })}\n` : `${removed ? 'removed the query adapter' : 'the collection has no query adapter'}\n`);
        return;
      }
      const judged = opts.dataset !== undefined ? loadBeirDataset(opts.dataset, { split: opts.split, skipCorpus: true }) : loadJudgedQueries(opts.queries!, opts.qrels!);
      const { encoder } = await loadCollectionEncoder(target, opts);
      collection = await openCollection(target, { encoder });
      const progress = createProgress({ label: 'tuning', unit: 'steps', total: 1 });
      let result: TuneCollectionResult;
      try {
        result = await tuneCollection(collection, judged.queries, judged.qrels, {
          rank: opts.rank, epochs: opts.epochs, learningRate: opts.learningRate, seed: opts.seed,
          onStep: (p) => progress.update(p.step / p.steps, `loss ${p.loss.toFixed(3)}`),
          onEpoch: (e) => {
            if (!opts.json) process.stderr.write(`\nepoch ${e.epoch}: loss ${e.loss.toFixed(4)}, validation nDCG@10 ${e.validationNdcg10.toFixed(4)}${e.best ? ' (best)' : ''}\n`);
          },
        });
      } finally {
        progress.stop();
      }
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ ...result, adapter: result.adapter === undefined ? null : { rank: result.adapter.rank, dims: result.adapter.dims } }, null, 2)}\n`);
      } else {
        const v = result.validation;
        process.stdout.write(`${result.trainingQueries} training queries (${result.trainingPairs} pairs), ${v.queries} held out for validation; ${result.epochs} epochs in ${result.seconds.toFixed(1)} s\n`);
        process.stdout.write(`validation nDCG@10: ${v.baseNdcg10.toFixed(4)} without an adapter, ${v.bestNdcg10.toFixed(4)} with (epoch ${v.bestEpoch})\n`);
        process.stdout.write(result.saved ? 'stored the query adapter with the collection\n' : `not stored: ${result.reason}\n`);
      }
    } catch (error) {
      throw lockedForCommandLine(error, target);
    } finally {
      await collection?.close();
    }
  });
}
