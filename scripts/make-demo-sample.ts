/**
 * Regenerates samples/xquad-en-paragraphs.jsonl, the sample `biencoder demo` indexes: the 240
 * distinct English Wikipedia paragraphs of XQuAD (CC BY-SA 4.0), one BEIR corpus line each:
 * {"_id": "xquad-en-<n>", "title": "<article title>", "text": "<paragraph>"}.
 *
 *   node --import tsx scripts/make-demo-sample.ts [XQUAD_EN_JSON] [OUT_JSONL]
 *
 * Defaults: ../shared/data/xquad/xquad.en.json and samples/xquad-en-paragraphs.jsonl.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface SquadFile {
  data: { title: string; paragraphs: { context: string }[] }[];
}

const root = new URL('../', import.meta.url);
const input = process.argv[2] ?? fileURLToPath(new URL('../shared/data/xquad/xquad.en.json', root));
const output = process.argv[3] ?? fileURLToPath(new URL('samples/xquad-en-paragraphs.jsonl', root));

const squad = JSON.parse(readFileSync(input, 'utf8')) as SquadFile;
const seen = new Set<string>();
const lines: string[] = [];
for (const article of squad.data) {
  const title = article.title.replaceAll('_', ' ');
  for (const { context } of article.paragraphs) {
    const text = context.trim();
    if (seen.has(text)) continue;
    seen.add(text);
    lines.push(JSON.stringify({ _id: `xquad-en-${lines.length}`, title, text }));
  }
}
writeFileSync(output, lines.join('\n') + '\n');
process.stdout.write(`wrote ${lines.length} paragraphs from ${squad.data.length} articles to ${output}\n`);
