import { Option, type Command } from 'commander';
import type { LoadEncoderOptions } from '../encoders/load-encoder.ts';
import { DTYPE_SUFFIX, type Dtype } from '../encoders/onnx/model-config.ts';

export interface ModelCliOptions {
  model?: string;
  dtype?: Dtype;
  cacheDir?: string;
  offline?: boolean;
}

/** Adds the options that choose and fetch a model. */
export function modelOptions(cmd: Command): Command {
  cmd.option('--model <id|dir>', 'use-lite (the bundled default), a sentence-transformers ONNX directory, or a hub id org/name[@revision]');
  return modelFetchOptions(cmd);
}

/** Adds the options that fetch a model named elsewhere (e.g. by a collection's manifest): --dtype, --cache-dir, --offline. */
export function modelFetchOptions(cmd: Command, dtypeDescription = 'ONNX weights variant'): Command {
  return cmd
    .addOption(new Option('--dtype <dtype>', dtypeDescription).choices(Object.keys(DTYPE_SUFFIX)))
    .option('--cache-dir <dir>', 'model cache (default: $HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub)')
    .option('--offline', 'use only cached or local models (also HF_HUB_OFFLINE=1)');
}

export function encoderOptionsFrom(opts: ModelCliOptions): LoadEncoderOptions {
  return {
    ...(opts.dtype ? { dtype: opts.dtype } : {}),
    ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
    ...(opts.offline ? { offline: true } : {}),
    onDownload: progressPrinter(),
  };
}

function progressPrinter(): (p: { file: string; loaded: number; total: number | undefined }) => void {
  let last = 0;
  return ({ file, loaded, total }) => {
    const now = Date.now();
    if (now - last < 1000 && loaded !== total) return;
    last = now;
    const pct = total ? ` ${((100 * loaded) / total).toFixed(0)}%` : '';
    process.stderr.write(`downloading ${file}: ${(loaded / 1e6).toFixed(1)} MB${pct}\n`);
  };
}
