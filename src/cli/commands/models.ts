import { Command } from 'commander';
import { listCachedModels } from '../../encoders/onnx/model-source.ts';
import { DEFAULT_MODEL } from '../../encoders/load-encoder.ts';

export function modelsCommand(): Command {
  return new Command('models')
    .description('List the models in the cache, and the bundled default.')
    .option('--cache-dir <dir>', 'model cache (default: $HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub)')
    .option('--json', 'print JSON')
    .action(async (opts: { cacheDir?: string; json?: boolean }) => {
      const cached = await listCachedModels(opts.cacheDir ? { cacheDir: opts.cacheDir } : {});
      if (opts.json) {
        process.stdout.write(JSON.stringify({ default: DEFAULT_MODEL, cached }, null, 2) + '\n');
        return;
      }
      process.stdout.write(`${DEFAULT_MODEL}  (bundled default: Universal Sentence Encoder lite, 512-d, English)\n`);
      if (cached.length === 0) {
        process.stdout.write('no models in the cache\n');
        return;
      }
      for (const m of cached) {
        process.stdout.write(`${m.id}@${m.revision}  ${m.files} files, ${(m.bytes / 1e6).toFixed(1)} MB  ${m.dir}\n`);
      }
    });
}
