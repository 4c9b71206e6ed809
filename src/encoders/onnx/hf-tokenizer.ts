/**
 * Loading a model directory's Hugging Face tokenizer, apart from TextTokenizer so that the public
 * declarations (which name TextTokenizer and PairTokenizer, not this) do not import the types of
 * @huggingface/tokenizers.
 */
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { BiencoderError } from '../../errors.ts';
import { readJsonFile } from './json-file.ts';

/**
 * Builds the Hugging Face tokenizer of a model directory (tokenizer.json + optional tokenizer_config.json)
 * and finds its padding token id (0 when the config names none).
 */
export async function loadHfTokenizer(dir: string): Promise<{ tokenizer: Tokenizer; padId: number }> {
  const tokenizerJson = await readJsonFile(join(dir, 'tokenizer.json'), true);
  const tokenizerConfig = (await readJsonFile(join(dir, 'tokenizer_config.json'), false)) ?? {};
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
  } catch (error) {
    throw new BiencoderError('MODEL_INVALID', `cannot build the tokenizer of ${dir}: ${(error as Error).message}`, { cause: error });
  }
  const padToken = tokenizerConfig.pad_token;
  const padContent = typeof padToken === 'string' ? padToken : (padToken as { content?: string } | undefined)?.content;
  const padId = (padContent !== undefined ? tokenizer.token_to_id(padContent) : undefined) ?? 0;
  return { tokenizer, padId };
}
