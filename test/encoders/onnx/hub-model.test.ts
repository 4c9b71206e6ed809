import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import type { AddressInfo } from 'node:net';
import { loadOnnxEncoder } from '../../../src/encoders/onnx/onnx-encoder.ts';
import { listCachedModels } from '../../../src/encoders/onnx/model-source.ts';
import { isBiencoderError } from '../../../src/errors.ts';
import { syntheticModel, tempDir } from '../../helpers/synthetic.ts';
import { maxAbsDiff } from '../../helpers/vector-math.ts';

const tmp = tempDir('hub-model');
after(() => tmp.cleanup());

/** Serves a model directory at /{repo}/resolve/{revision}/{path}, as the hub does, counting requests. */
async function serveHub(repo: string, dir: string): Promise<{ server: Server; endpoint: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer(async (req, res) => {
    requests.push(req.url ?? '');
    const prefix = `/${repo}/resolve/`;
    const url = decodeURIComponent(req.url ?? '');
    if (!url.startsWith(prefix)) return void res.writeHead(404, { 'x-error-code': 'RepoNotFound' }).end();
    const [, ...rest] = url.slice(prefix.length).split('/');
    const file = normalize(join(dir, rest.join('/')));
    try {
      const [body, info] = await Promise.all([readFile(file), stat(file)]);
      res.writeHead(200, { 'content-length': info.size, 'x-repo-commit': 'c0ffee0000000000000000000000000000000000' });
      res.end(body);
    } catch {
      res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

test('a hub id is downloaded once into the cache, then loads offline with no request', async () => {
  const source = await syntheticModel(tmp.dir, 'source', { tiny: true, prompts: { query: 'query: ' } });
  const hub = await serveHub('acme/tiny-embedder', source);
  const cacheDir = join(tmp.dir, 'cache');
  try {
    const downloaded = await loadOnnxEncoder('acme/tiny-embedder', { endpoint: hub.endpoint, cacheDir });
    const local = await loadOnnxEncoder(source);
    const texts = ['hub models load like local ones', 'second text'];
    try {
      assert.equal(downloaded.modelId, 'acme/tiny-embedder');
      assert.deepEqual(downloaded.prompts, { query: 'query: ' });
      assert.ok(maxAbsDiff((await downloaded.encode(texts)).data, (await local.encode(texts)).data) <= 1e-7);
    } finally {
      await Promise.all([downloaded.close(), local.close()]);
    }
    assert.ok(hub.requests.some((r) => r.endsWith('/onnx/model.onnx')));
    const before = hub.requests.length;

    const offline = await loadOnnxEncoder('acme/tiny-embedder', { endpoint: hub.endpoint, cacheDir, offline: true });
    await offline.close();
    const again = await loadOnnxEncoder('acme/tiny-embedder@main', { endpoint: hub.endpoint, cacheDir });
    await again.close();
    assert.equal(hub.requests.length, before, 'cached model: no request');

    const cached = await listCachedModels({ cacheDir });
    assert.equal(cached.length, 1);
    assert.equal(cached[0].id, 'acme/tiny-embedder');

    await assert.rejects(
      loadOnnxEncoder('acme/other-model', { cacheDir, offline: true }),
      (e) => isBiencoderError(e, 'MODEL_NOT_FOUND') && e.message.includes('acme/other-model') && e.message.includes(cacheDir),
    );
    await assert.rejects(
      loadOnnxEncoder('acme/tiny-embedder', { endpoint: hub.endpoint, cacheDir: join(tmp.dir, 'cache2'), dtype: 'fp16' }),
      (e) => isBiencoderError(e, 'MODEL_NOT_FOUND') && e.message.includes('model_fp16.onnx'),
    );
  } finally {
    hub.server.close();
  }
});
