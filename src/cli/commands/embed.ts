import { createInterface } from 'node:readline';
import { Command, Option } from 'commander';
import { BiencoderError } from '../../errors.ts';
import type { Encoder, Role } from '../../encoders/encoder.ts';
import { DEFAULT_MODEL, loadEncoder } from '../../encoders/load-encoder.ts';
import { modelOptions, type ModelCliOptions, encoderOptionsFrom } from '../model-options.ts';

interface EmbedCliOptions extends ModelCliOptions {
  role: Role;
  format: 'text' | 'jsonl';
  batchSize: string;
}

/** One input line: its text and, for JSONL, the id to echo back. */
interface InputRecord {
  line: number;
  id: unknown;
  text: string;
}

export function embedCommand(): Command {
  const cmd = new Command('embed')
    .description(
      'Embed texts read from stdin, one JSON line out per input: {"line", "id"?, "embedding", "truncated"}.\n' +
        'Input: one text per line (--format text), or JSONL objects with a "text" field and optional "id"/"_id", or BEIR\'s "title"+"text" (--format jsonl).',
    )
    .addOption(new Option('--role <role>', 'embed as query or document (selects the prompt)').choices(['query', 'document']).default('document'))
    .addOption(new Option('--format <format>', 'input format').choices(['text', 'jsonl']).default('text'))
    .option('--batch-size <n>', 'texts per model call', '32');
  modelOptions(cmd);
  return cmd.action(async (opts: EmbedCliOptions) => {
    const batchSize = Number(opts.batchSize);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new BiencoderError('INVALID_ARGUMENT', `--batch-size must be a positive integer, got "${opts.batchSize}"`);
    const encoder = await loadEncoder(opts.model ?? DEFAULT_MODEL, encoderOptionsFrom(opts));
    try {
      await embedStream(encoder, opts, batchSize);
    } finally {
      await encoder.close();
    }
  });
}

async function embedStream(encoder: Encoder, opts: EmbedCliOptions, batchSize: number): Promise<void> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  let pending: InputRecord[] = [];
  let lineNo = 0;
  let truncated = 0;
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    let result;
    try {
      result = await encoder.encode(batch.map((r) => r.text), { role: opts.role, batchSize });
    } catch (error) {
      if (error instanceof BiencoderError && typeof error.details?.index === 'number') {
        const rec = batch[error.details.index];
        throw new BiencoderError(error.code, `line ${rec.line}: ${error.message}`, { cause: error });
      }
      throw error;
    }
    const cut = new Set(result.truncatedIndices);
    truncated += cut.size;
    let out = '';
    batch.forEach((rec, i) => {
      const embedding = Array.from(result.data.subarray(i * result.dims, (i + 1) * result.dims));
      out += JSON.stringify({ line: rec.line, ...(rec.id !== undefined ? { id: rec.id } : {}), embedding, truncated: cut.has(i) }) + '\n';
    });
    if (!process.stdout.write(out)) await new Promise((resolve) => process.stdout.once('drain', resolve));
  };
  for await (const raw of lines) {
    lineNo++;
    if (opts.format === 'jsonl' && raw.trim() === '') continue;
    pending.push(opts.format === 'jsonl' ? parseJsonLine(raw, lineNo) : { line: lineNo, id: undefined, text: raw });
    if (pending.length >= batchSize * 8) await flush();
  }
  await flush();
  if (truncated > 0) {
    process.stderr.write(`biencoder: warning: ${truncated} input(s) were longer than ${encoder.maxTokens} tokens and were truncated (see "truncated": true)\n`);
  }
}

function parseJsonLine(raw: string, line: number): InputRecord {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new BiencoderError('INVALID_ARGUMENT', `line ${line} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value === 'string') return { line, id: undefined, text: value };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new BiencoderError('INVALID_ARGUMENT', `line ${line}: expected a JSON object with a "text" field or a JSON string`);
  }
  const obj = value as Record<string, unknown>;
  if (typeof obj.text !== 'string') throw new BiencoderError('INVALID_ARGUMENT', `line ${line}: the "text" field is missing or not a string`);
  const title = typeof obj.title === 'string' && obj.title !== '' ? obj.title : undefined;
  return { line, id: obj.id ?? obj._id, text: title ? `${title} ${obj.text}` : obj.text };
}
