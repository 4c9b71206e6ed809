import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { Collection, SEARCH_MODES, type SearchMode } from '../../collection/collection.ts';
import { DEFAULT_MODEL, loadEncoder } from '../../encoders/load-encoder.ts';
import { resolveInputs } from '../../ingest/input-files.ts';
import { integerOption } from '../cli-options.ts';
import { formatHits, searchWith } from './search.ts';
import { Retriever } from '../../retriever/retriever.ts';
import { DEFAULT_TEXT_SEARCH_MODE } from '../../retriever/default-mode.ts';
import { formatIndexSummary, indexFiles, INTERRUPTED_EXIT } from './index.ts';

/** The sample shipped in the package: 240 English Wikipedia paragraphs from XQuAD (CC BY-SA 4.0). */
export const DEMO_SAMPLE = fileURLToPath(new URL('../../../samples/xquad-en-paragraphs.jsonl', import.meta.url));

/** The question asked when none is given. */
export const DEMO_QUERY = 'Who discovered oxygen?';

/** Where the demo collection lives: $XDG_CACHE_HOME/biencoder/demo, else ~/.cache/biencoder/demo. */
export function defaultDemoDir(env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(cache, 'biencoder', 'demo');
}

interface DemoCliOptions {
  collection?: string;
  k: number;
  mode: SearchMode;
  json?: boolean;
  progress?: boolean;
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('Index the bundled sample with the embedded default model and answer a question (offline).')
    .addHelpText(
      'after',
      `
The sample: 240 English Wikipedia paragraphs from XQuAD (CC BY-SA 4.0), samples/xquad-en-paragraphs.jsonl.
The model: ${DEFAULT_MODEL}, Universal Sentence Encoder lite (bundled, no network).
The collection is kept (default $XDG_CACHE_HOME/biencoder/demo, else ~/.cache/biencoder/demo), so a rerun
only embeds the question. Ask more with: biencoder search "..." --collection DIR

Examples:
  biencoder demo
  biencoder demo "What causes autoimmune diseases?"`,
    )
    .argument('[query]', 'the question', DEMO_QUERY)
    .option('--collection <dir>', 'where to build the demo collection (default: under the user cache)')
    .option('-k, --k <n>', 'number of results', integerOption(1), 5)
    .addOption(new Option('--mode <mode>', 'hybrid: BM25 fused with dense scores; dense: vectors only; keyword: BM25 only').choices([...SEARCH_MODES]).default(DEFAULT_TEXT_SEARCH_MODE))
    .option('--no-progress', 'no progress display')
    .option('--json', 'print the index summary and the results as JSON')
    .action(async (query: string, opts: DemoCliOptions) => {
      const dir = resolve(opts.collection ?? defaultDemoDir());
      const started = performance.now();
      const { files } = await resolveInputs([DEMO_SAMPLE]);
      const encoder = await loadEncoder(DEFAULT_MODEL);
      let collection: Collection | undefined;
      try {
        const summary = await indexFiles({ dir, files, model: DEFAULT_MODEL, encoder, progress: opts.progress !== false });
        if (summary.interrupted) {
          process.stdout.write(formatIndexSummary(summary));
          process.exitCode = INTERRUPTED_EXIT;
          return;
        }
        collection = await Collection.open(dir, { encoder, readOnly: true });
        const searchStarted = performance.now();
        const retriever = new Retriever({ collection, ...(opts.mode ? { mode: opts.mode } : {}) });
        const { hits } = await searchWith(retriever, query, { k: opts.k });
        const searchSeconds = (performance.now() - searchStarted) / 1000;
        const seconds = (performance.now() - started) / 1000;
        if (opts.json) {
          process.stdout.write(JSON.stringify({ collection: dir, index: summary, query, hits, searchSeconds, seconds }, null, 2) + '\n');
          return;
        }
        process.stdout.write(formatIndexSummary(summary));
        process.stdout.write(`\nQuery: ${JSON.stringify(query)} (top ${opts.k}, ${(searchSeconds * 1000).toFixed(0)} ms)\n`);
        process.stdout.write(formatHits(hits, 200));
        process.stdout.write(`\nAsk more: biencoder search "your question" --collection ${dir}\n`);
      } finally {
        await collection?.close();
        await encoder.close();
      }
    });
}
