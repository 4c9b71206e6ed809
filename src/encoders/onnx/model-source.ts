/**
 * Where model files come from: a local directory, or the Hugging Face hub through a local cache laid out
 * like huggingface_hub's (`{cacheDir}/models--{org}--{name}/snapshots/{commit}/{path}` plus `refs/{revision}`),
 * so that models downloaded by Python tools are found here and the other way round.
 *
 * Downloads are resumable (`{target}.part` + `Range`), verified against the announced size, moved into
 * place atomically, and guarded by a `{target}.lock` file so that two processes never write the same file.
 */
import { promises as fsp } from 'node:fs';
import { homedir, hostname } from 'node:os';
import path from 'node:path';
import { BiencoderError } from '../../errors.ts';

export interface ModelSourceOptions {
  /** Directory of the cache. Default: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub (HF conventions). */
  cacheDir?: string;
  /** Use only the cache / local dirs; never the network. Default: process.env.HF_HUB_OFFLINE === '1' (also 'true'). */
  offline?: boolean;
  /** Hub base URL. Default: process.env.HF_ENDPOINT ?? 'https://huggingface.co'. */
  endpoint?: string;
  /** Bearer token; default process.env.HF_TOKEN. */
  token?: string;
  signal?: AbortSignal;
  /** Called while downloading: file path in repo, bytes so far, total bytes when known. */
  onDownload?: (p: { file: string; loaded: number; total: number | undefined }) => void;
  /** Injectable, default globalThis.fetch. */
  fetch?: typeof fetch;
  /** How many times a dropped connection (or a 502/503/504) is retried, resuming the partial file. Default 3. */
  retries?: number;
}

export interface ResolvedModel {
  /** The id as given (a hub id or a local path). */
  id: string;
  /** The requested hub revision ('main' by default); undefined for a local directory. */
  revision: string | undefined;
  /** The directory that holds the model's files. */
  dir: string;
  local: boolean;
  /** The hub commit of the snapshot when known; undefined for a local directory. */
  commit?: string | undefined;
}

export interface ModelFileRequest {
  /** A path inside the repository, with '/' separators (e.g. 'onnx/model.onnx'). */
  path: string;
  /** A missing optional file is no error. */
  optional?: boolean;
}

export interface CachedModel {
  /** Hub id, e.g. 'org/name'. */
  id: string;
  /** The snapshot's name: a commit hash (or the revision name when the hub sent no commit). */
  revision: string;
  /** Names in refs/ that point at this snapshot (e.g. ['main']). */
  refs: string[];
  dir: string;
  /** Total size of the snapshot's complete files (symlinks followed). */
  bytes: number;
  files: number;
}

const DEFAULT_ENDPOINT = 'https://huggingface.co';
const DEFAULT_RETRIES = 3;
const COMMIT_RE = /^[0-9a-f]{40}$/;
const NAME_SEGMENT_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const REVISION_RE = /^[A-Za-z0-9._\-/]+$/;
/** A lock file untouched for this long belongs to a dead download. */
const STALE_LOCK_MS = 10 * 60_000;
/** A download refreshes its lock's mtime this often. */
const LOCK_REFRESH_MS = 30_000;
const LOCK_POLL_MS = 100;
/** Hard cap on waiting for another download of the same file. */
const LOCK_WAIT_TIMEOUT_MS = 60 * 60_000;
const USER_AGENT = 'biencoder/0.1.0';

// ---------------------------------------------------------------------------------------------------------------
// Ids, paths and environment

/** The default cache directory, following huggingface_hub: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return path.resolve(expandHome(env.HF_HUB_CACHE));
  if (env.HF_HOME) return path.resolve(expandHome(env.HF_HOME), 'hub');
  return path.join(homedir(), '.cache', 'huggingface', 'hub');
}

function envFlag(value: string | undefined): boolean {
  return value !== undefined && ['1', 'true', 'yes', 'on'].includes(value.trim().toLowerCase());
}

function expandHome(p: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/') || p.startsWith('~\\')) return path.join(homedir(), p.slice(2));
  return p;
}

/** Parses 'org/name', 'org/name@rev', 'name'. Returns null for things that are not hub ids. */
export function parseHubId(id: string): { repo: string; revision: string } | null {
  if (typeof id !== 'string') return null;
  const at = id.indexOf('@');
  const repo = at < 0 ? id : id.slice(0, at);
  const revision = at < 0 ? 'main' : id.slice(at + 1);
  if (!isValidRepo(repo) || !isValidRevision(revision)) return null;
  return { repo, revision };
}

function isValidRepo(repo: string): boolean {
  if (typeof repo !== 'string' || repo.length === 0 || repo.length > 200) return false;
  if (repo.includes('--') || repo.includes('..')) return false;
  const parts = repo.split('/');
  return parts.length <= 2 && parts.every((p) => p.length <= 96 && NAME_SEGMENT_RE.test(p));
}

function isValidRevision(revision: string): boolean {
  if (typeof revision !== 'string' || revision.length === 0 || revision.length > 255) return false;
  if (!REVISION_RE.test(revision)) return false;
  return revision.split('/').every((s) => s.length > 0 && s !== '.' && s !== '..');
}

/** Validates a file path inside a repository; returns its segments. Throws INVALID_ARGUMENT if it could escape. */
function repoPathSegments(filePath: unknown): string[] {
  if (typeof filePath !== 'string' || filePath.length === 0) {
    throw new BiencoderError('INVALID_ARGUMENT', `a model file path must be a non-empty string, got ${JSON.stringify(filePath)}`);
  }
  const segments = filePath.split('/');
  const bad =
    filePath.includes('\0') ||
    filePath.includes('\\') ||
    filePath.startsWith('/') ||
    /^[A-Za-z]:/.test(filePath) ||
    segments.some((s) => s === '' || s === '.' || s === '..');
  if (bad) {
    throw new BiencoderError(
      'INVALID_ARGUMENT',
      `invalid model file path ${JSON.stringify(filePath)}: it must be relative, use '/' separators and stay inside the model directory`,
      { details: { path: filePath } },
    );
  }
  return segments;
}

/** Joins segments under a base directory, refusing anything that would land outside it. */
function inside(base: string, segments: readonly string[], shown: string): string {
  const full = path.resolve(base, ...segments);
  if (!full.startsWith(path.resolve(base) + path.sep)) {
    throw new BiencoderError('INVALID_ARGUMENT', `model file path ${JSON.stringify(shown)} escapes the model directory`);
  }
  return full;
}

/** A revision name usable as one directory name (huggingface_hub names snapshots by commit, so this is only a fallback). */
function revisionDirName(revision: string): string {
  return revision.replaceAll('%', '%25').replaceAll('/', '%2F');
}

function looksLikeLocalPath(id: string): boolean {
  return (
    id === '.' ||
    id === '..' ||
    id.startsWith('/') ||
    id.startsWith('./') ||
    id.startsWith('../') ||
    id.startsWith('~') ||
    id.startsWith('.\\') ||
    id.startsWith('..\\') ||
    path.isAbsolute(id)
  );
}

interface RepoContext {
  repo: string;
  revision: string;
  /** For messages: 'org/name' or 'org/name@rev'. */
  label: string;
  cacheDir: string;
  repoDir: string;
  offline: boolean;
  /** Why we are offline, for messages. */
  offlineReason: string;
  endpoint: string;
  token: string | undefined;
  fetch: typeof fetch;
  retries: number;
  signal: AbortSignal | undefined;
  onDownload: ModelSourceOptions['onDownload'];
}

function makeContext(repo: string, revision: string, options: ModelSourceOptions): RepoContext {
  if (!isValidRepo(repo)) {
    throw new BiencoderError('INVALID_ARGUMENT', `invalid hub repository id ${JSON.stringify(repo)} (expected 'org/name')`);
  }
  if (!isValidRevision(revision)) {
    throw new BiencoderError('INVALID_ARGUMENT', `invalid hub revision ${JSON.stringify(revision)}`);
  }
  const retries = options.retries ?? DEFAULT_RETRIES;
  if (!Number.isInteger(retries) || retries < 0) {
    throw new BiencoderError('INVALID_ARGUMENT', `retries must be a non-negative integer, got ${String(retries)}`);
  }
  const cacheDir = path.resolve(expandHome(options.cacheDir ?? defaultCacheDir()));
  const offline = options.offline ?? envFlag(process.env.HF_HUB_OFFLINE);
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') {
    throw new BiencoderError('INVALID_ARGUMENT', 'no fetch implementation available: pass options.fetch');
  }
  return {
    repo,
    revision,
    label: revision === 'main' ? repo : `${repo}@${revision}`,
    cacheDir,
    repoDir: path.join(cacheDir, `models--${repo.replace('/', '--')}`),
    offline,
    offlineReason: options.offline === true ? 'offline: true was passed' : 'HF_HUB_OFFLINE is set',
    endpoint: (options.endpoint ?? process.env.HF_ENDPOINT ?? DEFAULT_ENDPOINT).replace(/\/+$/, ''),
    token: options.token ?? (process.env.HF_TOKEN || process.env.HUGGING_FACE_HUB_TOKEN || undefined),
    fetch: fetchImpl,
    retries,
    signal: options.signal,
    onDownload: options.onDownload,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Small fs helpers

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fsp.stat(p)).isFile();
  } catch {
    return false;
  }
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await fsp.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function fileSize(p: string): Promise<number> {
  try {
    return (await fsp.stat(p)).size;
  } catch {
    return 0;
  }
}

function errnoCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}

function abortedError(signal: AbortSignal | undefined, what: string): BiencoderError {
  return new BiencoderError('ABORTED', `${what} was aborted`, { cause: signal?.reason });
}

function checkAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw abortedError(signal, what);
}

function sleep(ms: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortedError(signal, what));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortedError(signal, what));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Writes a small file atomically (temp file + rename). */
async function writeAtomic(file: string, content: string): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await fsp.writeFile(tmp, content);
  try {
    await fsp.rename(tmp, file);
  } catch (error) {
    await fsp.rm(tmp, { force: true });
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Cache lookups

/** The commit a revision points at: the revision itself when it is a commit hash, else the content of refs/{revision}. */
async function readRef(ctx: RepoContext): Promise<string | undefined> {
  if (COMMIT_RE.test(ctx.revision)) return ctx.revision;
  try {
    const ref = (await fsp.readFile(path.join(ctx.repoDir, 'refs', ...ctx.revision.split('/')), 'utf8')).trim();
    return ref.length > 0 && NAME_SEGMENT_RE.test(ref) ? ref : undefined;
  } catch {
    return undefined;
  }
}

/** Snapshot names to look in, most specific first. */
function snapshotNames(ctx: RepoContext, commit: string | undefined): string[] {
  const names = commit === undefined ? [] : [commit];
  const byRevision = revisionDirName(ctx.revision);
  if (!names.includes(byRevision)) names.push(byRevision);
  return names;
}

async function findCachedFile(ctx: RepoContext, names: readonly string[], segments: readonly string[], shown: string): Promise<string | null> {
  for (const name of names) {
    const file = inside(path.join(ctx.repoDir, 'snapshots', name), segments, shown);
    if (await isFile(file)) return file;
  }
  return null;
}

async function hasNoExistMarker(ctx: RepoContext, names: readonly string[], segments: readonly string[], shown: string): Promise<boolean> {
  for (const name of names) {
    if (await isFile(inside(path.join(ctx.repoDir, '.no_exist', name), segments, shown))) return true;
  }
  return false;
}

function offlineMiss(ctx: RepoContext, file: string | undefined, lookedIn: string): BiencoderError {
  const what = file === undefined ? `model ${ctx.label}` : `file "${file}" of model ${ctx.label}`;
  const copyInto = path.join(ctx.repoDir, 'snapshots', revisionDirName(ctx.revision));
  return new BiencoderError(
    'MODEL_NOT_FOUND',
    `${what} is not in the cache and the network is off (${ctx.offlineReason}). Looked in ${lookedIn}. ` +
      `To fix: run once online, or set HF_HUB_OFFLINE=0, or pass a local directory, or copy the model into ${copyInto}`,
    { details: { id: ctx.label, file, cacheDir: ctx.cacheDir, path: lookedIn } },
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Lock files

interface Lock {
  readonly path: string;
  /** Refreshes the lock's mtime (throttled) so that waiters do not take it for stale. */
  touch(): void;
  release(): Promise<void>;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EPERM';
  }
}

/** A lock is stale when untouched for STALE_LOCK_MS, or when its owner was a process on this host that is gone. */
async function lockIsStale(lockPath: string): Promise<boolean> {
  let mtimeMs: number;
  try {
    mtimeMs = (await fsp.stat(lockPath)).mtimeMs;
  } catch {
    return false; // gone already: not stale, just free
  }
  if (Date.now() - mtimeMs > STALE_LOCK_MS) return true;
  try {
    const owner = JSON.parse(await fsp.readFile(lockPath, 'utf8')) as { pid?: unknown; host?: unknown };
    if (typeof owner.pid === 'number' && owner.host === hostname() && owner.pid !== process.pid) {
      return !processAlive(owner.pid);
    }
  } catch {
    // being written, or not ours to parse: judge by mtime only
  }
  return false;
}

/** One attempt at taking `{target}.lock` (removing a stale one first); null when someone else holds it. */
async function tryLock(target: string): Promise<Lock | null> {
  const lockPath = `${target}.lock`;
  await fsp.mkdir(path.dirname(lockPath), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await fsp.open(lockPath, 'wx');
      try {
        await handle.writeFile(JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }));
      } finally {
        await handle.close();
      }
      let touched = Date.now();
      return {
        path: lockPath,
        touch() {
          const now = Date.now();
          if (now - touched < LOCK_REFRESH_MS) return;
          touched = now;
          fsp.utimes(lockPath, new Date(now), new Date(now)).catch(() => undefined);
        },
        async release() {
          await fsp.rm(lockPath, { force: true });
        },
      };
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') {
        throw new BiencoderError('DOWNLOAD_FAILED', `cannot create the lock file ${lockPath}: ${String(error)}`, { cause: error });
      }
      if (attempt === 0 && (await lockIsStale(lockPath))) {
        await fsp.rm(lockPath, { force: true });
        continue;
      }
      return null;
    }
  }
  return null;
}

/** Takes `{target}.lock`, waiting (polling) while another live download holds it. */
async function acquireLock(target: string, ctx: RepoContext, file: string): Promise<Lock> {
  const started = Date.now();
  for (;;) {
    const lock = await tryLock(target);
    if (lock) return lock;
    if (Date.now() - started > LOCK_WAIT_TIMEOUT_MS) {
      throw new BiencoderError(
        'DOWNLOAD_FAILED',
        `timed out waiting for another download of "${file}" of ${ctx.label} (lock file ${target}.lock); ` +
          'delete the lock file if no other process is downloading it',
        { details: { id: ctx.label, file } },
      );
    }
    await sleep(LOCK_POLL_MS, ctx.signal, `download of ${file}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP

function fileUrl(ctx: RepoContext, revision: string, segments: readonly string[]): string {
  const repo = ctx.repo.split('/').map(encodeURIComponent).join('/');
  return `${ctx.endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${segments.map(encodeURIComponent).join('/')}`;
}

function parseLength(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value.trim())) return undefined;
  const n = Number(value.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}

/** `bytes start-end/total` or `bytes * /total`. */
function parseContentRange(value: string | null): { start: number | undefined; total: number | undefined } | undefined {
  if (value === null) return undefined;
  const m = /^bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)$/i.exec(value.trim());
  if (!m) return undefined;
  return {
    start: m[1] === undefined ? undefined : Number(m[1]),
    total: m[3] === '*' || m[3] === undefined ? undefined : Number(m[3]),
  };
}

async function discard(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // nothing to do
  }
}

interface HubAnswer {
  /** The final response (after redirects). */
  response: Response;
  /** x-repo-commit, from the final response or any redirect on the way (the hub puts it on the redirect for LFS files). */
  commit: string | undefined;
  /** x-linked-size (the file's full size), likewise. */
  linkedSize: number | undefined;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * GET with redirects followed by hand, so that the hub's headers on a redirect (x-repo-commit, x-linked-size) are
 * seen, and the token is not sent to another origin (e.g. the CDN that serves LFS files).
 */
async function request(ctx: RepoContext, url: string, headers: Record<string, string>): Promise<HubAnswer> {
  let current = url;
  let commit: string | undefined;
  let linkedSize: number | undefined;
  const sent = { ...headers };
  for (let hop = 0; hop <= 10; hop++) {
    const response = await ctx.fetch(current, { headers: sent, signal: ctx.signal, redirect: 'manual' });
    commit ??= response.headers.get('x-repo-commit') ?? undefined;
    linkedSize ??= parseLength(response.headers.get('x-linked-size'));
    if (response.type === 'opaqueredirect') {
      // A fetch that hides redirects (browser-like): let it follow them itself.
      const followed = await ctx.fetch(current, { headers: sent, signal: ctx.signal, redirect: 'follow' });
      return {
        response: followed,
        commit: commit ?? followed.headers.get('x-repo-commit') ?? undefined,
        linkedSize: linkedSize ?? parseLength(followed.headers.get('x-linked-size')),
      };
    }
    const location = response.headers.get('location');
    if (!REDIRECTS.has(response.status) || location === null) return { response, commit, linkedSize };
    await discard(response);
    const next = new URL(location, current);
    if (next.origin !== new URL(current).origin) delete sent.authorization;
    current = next.href;
  }
  throw new BiencoderError('DOWNLOAD_FAILED', `too many redirects for ${url}`, { details: { url } });
}

/** A failure worth retrying with resume (dropped connection, unreachable host, gateway error). */
class TransientError extends Error {
  readonly partial: boolean;
  constructor(message: string, partial: boolean, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.partial = partial;
  }
}

function httpError(ctx: RepoContext, response: Response, file: string): BiencoderError {
  const status = response.status;
  const errorCode = response.headers.get('x-error-code') ?? undefined;
  const serverMessage = response.headers.get('x-error-message') ?? undefined;
  const suffix = serverMessage ? ` (hub says: ${serverMessage})` : '';
  const details = { id: ctx.label, file, status, errorCode };
  if (status === 401 || status === 403 || errorCode === 'RepoNotFound' || errorCode === 'GatedRepo') {
    const why =
      errorCode === 'GatedRepo'
        ? `model ${ctx.repo} is gated: accept its terms on ${ctx.endpoint}/${ctx.repo} and set HF_TOKEN to a token of that account`
        : `model ${ctx.repo} was not found on ${ctx.endpoint}, or the repo may be gated/private: check the id, or set HF_TOKEN to a token with access`;
    return new BiencoderError('MODEL_NOT_FOUND', `${why} (HTTP ${status} for "${file}")${suffix}`, { details });
  }
  if (status === 404) {
    const message =
      errorCode === 'RevisionNotFound'
        ? `revision "${ctx.revision}" of model ${ctx.repo} was not found on ${ctx.endpoint} (HTTP 404 for "${file}")`
        : `file "${file}" was not found in model ${ctx.label} on ${ctx.endpoint} (HTTP 404)`;
    return new BiencoderError('MODEL_NOT_FOUND', message + suffix, { details });
  }
  return new BiencoderError('DOWNLOAD_FAILED', `downloading "${file}" of ${ctx.label} failed: HTTP ${status} ${response.statusText}${suffix}`, {
    details,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Download of one file

interface FileJob {
  file: string;
  segments: string[];
  optional: boolean;
}

async function fetchOne(ctx: RepoContext, job: FileJob): Promise<string | null> {
  const { file, segments, optional } = job;
  checkAborted(ctx.signal, `download of ${file}`);
  const commit = await readRef(ctx);
  const names = snapshotNames(ctx, commit);
  const cached = await findCachedFile(ctx, names, segments, file);
  if (cached !== null) return cached;
  const knownMissing = await hasNoExistMarker(ctx, names, segments, file);
  if (knownMissing && optional) return null;
  if (ctx.offline) {
    if (optional) return null;
    if (knownMissing) {
      throw new BiencoderError(
        'MODEL_NOT_FOUND',
        `file "${file}" does not exist in model ${ctx.label} (remembered in ${path.join(ctx.repoDir, '.no_exist')}; ${ctx.offlineReason})`,
        { details: { id: ctx.label, file, cacheDir: ctx.cacheDir } },
      );
    }
    const lookedIn = (await isDirectory(ctx.repoDir)) ? path.join(ctx.repoDir, 'snapshots', names[0] ?? '') : ctx.repoDir;
    throw offlineMiss(ctx, file, lookedIn);
  }
  return download(ctx, job, commit);
}

async function download(ctx: RepoContext, job: FileJob, knownCommit: string | undefined): Promise<string | null> {
  const { file, segments, optional } = job;
  const what = `download of "${file}" of ${ctx.label}`;
  let commit = knownCommit;
  let snapshot = commit;
  let target = snapshot === undefined ? undefined : inside(path.join(ctx.repoDir, 'snapshots', snapshot), segments, file);
  let failures = 0;

  const retryOrThrow = async (error: TransientError): Promise<void> => {
    if (failures >= ctx.retries) {
      const resume = error.partial ? '; the partial file is kept and the next attempt will resume it' : '';
      throw new BiencoderError('DOWNLOAD_FAILED', `${error.message}${resume}`, {
        cause: error.cause ?? error,
        details: { id: ctx.label, file, attempts: failures + 1 },
      });
    }
    failures++;
    await sleep(Math.min(2000, 150 * 2 ** (failures - 1)), ctx.signal, what);
  };

  for (;;) {
    checkAborted(ctx.signal, what);
    let lock: Lock | null = null;
    try {
      let offset = 0;
      if (target !== undefined) {
        lock = await acquireLock(target, ctx, file);
        if (await isFile(target)) return target; // another process finished it while we waited
        offset = await fileSize(`${target}.part`);
      }

      const headers: Record<string, string> = { 'user-agent': USER_AGENT, 'accept-encoding': 'identity' };
      if (ctx.token) headers.authorization = `Bearer ${ctx.token}`;
      if (offset > 0) headers.range = `bytes=${offset}-`;
      let answer: HubAnswer;
      try {
        answer = await request(ctx, fileUrl(ctx, commit ?? ctx.revision, segments), headers);
      } catch (error) {
        if (error instanceof BiencoderError) throw error;
        if (ctx.signal?.aborted) throw abortedError(ctx.signal, what);
        await retryOrThrow(
          new TransientError(
            `could not reach ${ctx.endpoint} to download "${file}" of ${ctx.label}: ${describe(error)}. ` +
              'Without network, set HF_HUB_OFFLINE=1 to use only the cache',
            offset > 0,
            error,
          ),
        );
        continue;
      }

      // Learn the commit: snapshots are named by it, and later files of this model are fetched from it.
      const { response, linkedSize } = answer;
      const headerCommit = answer.commit?.trim().toLowerCase();
      if (commit === undefined && headerCommit !== undefined && COMMIT_RE.test(headerCommit)) {
        commit = headerCommit;
        if (ctx.revision !== commit) await writeAtomic(path.join(ctx.repoDir, 'refs', ...ctx.revision.split('/')), commit);
      }

      if (response.status === 404 && optional && (response.headers.get('x-error-code') ?? 'EntryNotFound') === 'EntryNotFound') {
        await discard(response);
        const marker = inside(path.join(ctx.repoDir, '.no_exist', commit ?? revisionDirName(ctx.revision)), segments, file);
        await writeAtomic(marker, '');
        return null;
      }
      if (response.status === 416 && target !== undefined && offset > 0) {
        // The partial file is as long as (or longer than) the file: complete if the sizes agree, else start over.
        await discard(response);
        const total = parseContentRange(response.headers.get('content-range'))?.total;
        if (total === offset) {
          await fsp.rename(`${target}.part`, target);
          return target;
        }
        await fsp.rm(`${target}.part`, { force: true });
        await retryOrThrow(new TransientError(`the server refused to resume "${file}" of ${ctx.label} (HTTP 416)`, false));
        continue;
      }
      if (response.status === 502 || response.status === 503 || response.status === 504) {
        await discard(response);
        await retryOrThrow(
          new TransientError(`downloading "${file}" of ${ctx.label} failed: HTTP ${response.status} ${response.statusText}`, offset > 0),
        );
        continue;
      }
      if (response.status !== 200 && response.status !== 206) {
        await discard(response);
        throw httpError(ctx, response, file);
      }

      if (target === undefined) {
        // First response tells where the file goes; now take the lock for it.
        snapshot = commit ?? revisionDirName(ctx.revision);
        target = inside(path.join(ctx.repoDir, 'snapshots', snapshot), segments, file);
        if (await isFile(target)) {
          await discard(response);
          return target;
        }
        lock = await tryLock(target);
        if (lock === null || (await fileSize(`${target}.part`)) > 0) {
          // Someone else is downloading it, or there is a partial file to resume: go round with the target known.
          await discard(response);
          continue;
        }
      }

      return await receive(ctx, response, linkedSize, target, offset, file, lock);
    } catch (error) {
      if (error instanceof TransientError) {
        await retryOrThrow(error);
        continue;
      }
      if (ctx.signal?.aborted && !(error instanceof BiencoderError && error.code === 'ABORTED')) {
        throw abortedError(ctx.signal, what);
      }
      throw error;
    } finally {
      await lock?.release();
    }
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}

/** Streams a 200/206 response into `{target}.part`, verifies its size and moves it into place. */
async function receive(
  ctx: RepoContext,
  response: Response,
  linkedSize: number | undefined,
  target: string, offset: number, file: string, lock: Lock | null): Promise<string> {
  const part = `${target}.part`;
  let start = 0;
  let total: number | undefined;
  const encoding = (response.headers.get('content-encoding') ?? 'identity').trim().toLowerCase();
  const contentLength = encoding === 'identity' ? parseLength(response.headers.get('content-length')) : undefined;
  if (response.status === 206) {
    const range = parseContentRange(response.headers.get('content-range'));
    if (range?.start !== offset) {
      // Not the range we asked for: drop the partial file and start over.
      await discard(response);
      await fsp.rm(part, { force: true });
      throw new TransientError(`the server answered an unexpected range for "${file}" of ${ctx.label}`, false);
    }
    start = offset;
    total = range.total ?? (contentLength === undefined ? undefined : offset + contentLength);
  } else {
    total = contentLength;
  }
  total = linkedSize ?? total;

  await fsp.mkdir(path.dirname(target), { recursive: true });
  const handle = await fsp.open(part, start === 0 ? 'w' : 'a');
  let loaded = start;
  try {
    ctx.onDownload?.({ file, loaded, total });
    const reader = response.body?.getReader();
    if (reader) {
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (error) {
          if (ctx.signal?.aborted) throw abortedError(ctx.signal, `download of "${file}" of ${ctx.label}`);
          const of = total === undefined ? '' : ` of ${total}`;
          throw new TransientError(
            `the connection was lost while downloading "${file}" of ${ctx.label} (got ${loaded}${of} bytes): ${describe(error)}`,
            true,
            error,
          );
        }
        if (chunk.done) break;
        await handle.write(chunk.value);
        loaded += chunk.value.byteLength;
        lock?.touch();
        ctx.onDownload?.({ file, loaded, total });
      }
    }
  } finally {
    await handle.close();
  }

  if (total !== undefined && loaded !== total) {
    if (loaded > total) await fsp.rm(part, { force: true }); // more than announced: the partial file is useless
    throw new BiencoderError(
      'DOWNLOAD_FAILED',
      `size mismatch for "${file}" of ${ctx.label}: the server announced ${total} bytes but ${loaded} arrived` +
        (loaded < total ? '; the partial file is kept and the next attempt will resume it' : ''),
      { details: { id: ctx.label, file, expected: total, received: loaded } },
    );
  }
  await fsp.rename(part, target);
  return target;
}

// ---------------------------------------------------------------------------------------------------------------
// Public API

/** Downloads (or finds in cache) one file; returns its local path, or null if optional and 404. */
export async function fetchModelFile(
  repo: string,
  revision: string,
  path: string,
  options: ModelSourceOptions & { optional?: boolean } = {},
): Promise<string | null> {
  const ctx = makeContext(repo, revision, options);
  const segments = repoPathSegments(path);
  return fetchOne(ctx, { file: path, segments, optional: options.optional === true });
}

/** The local directory for a local path (must exist and be a directory), else downloads the listed files of the hub id into the cache and returns its snapshot dir. */
export async function resolveModel(id: string, files: ModelFileRequest[], options: ModelSourceOptions = {}): Promise<ResolvedModel> {
  if (typeof id !== 'string' || id.trim().length === 0) {
    throw new BiencoderError('INVALID_ARGUMENT', `a model id must be a non-empty string, got ${JSON.stringify(id)}`);
  }
  if (!Array.isArray(files)) {
    throw new BiencoderError('INVALID_ARGUMENT', 'files must be an array of { path, optional? }');
  }
  const jobs: FileJob[] = files.map((f) => {
    if (typeof f !== 'object' || f === null) {
      throw new BiencoderError('INVALID_ARGUMENT', `files must be an array of { path, optional? }, got ${JSON.stringify(f)}`);
    }
    return { file: f.path, segments: repoPathSegments(f.path), optional: f.optional === true };
  });
  checkAborted(options.signal, `resolving ${id}`);

  // A local directory?
  const localPath = path.resolve(expandHome(id));
  if (looksLikeLocalPath(id) || (await isDirectory(id))) {
    let stat;
    try {
      stat = await fsp.stat(localPath);
    } catch {
      throw new BiencoderError('MODEL_NOT_FOUND', `local model directory ${localPath} does not exist (model id ${JSON.stringify(id)})`, {
        details: { id, path: localPath },
      });
    }
    if (!stat.isDirectory()) {
      throw new BiencoderError('MODEL_NOT_FOUND', `${localPath} is not a directory (model id ${JSON.stringify(id)}): pass the model's directory`, {
        details: { id, path: localPath },
      });
    }
    return { id, revision: undefined, dir: localPath, local: true, commit: undefined };
  }

  const hub = parseHubId(id);
  if (hub === null) {
    if (/(^|[/\\@])\.\.([/\\@]|$)/.test(id) || id.includes('\\') || id.includes('\0')) {
      throw new BiencoderError('INVALID_ARGUMENT', `invalid model id ${JSON.stringify(id)}: not a hub id ('org/name' or 'org/name@revision')`);
    }
    throw new BiencoderError(
      'MODEL_NOT_FOUND',
      `model ${JSON.stringify(id)} is neither an existing local directory nor a hub id ('org/name' or 'org/name@revision')`,
      { details: { id } },
    );
  }

  const ctx = makeContext(hub.repo, hub.revision, options);
  const found: Array<string | null> = [];
  for (const job of jobs) found.push(await fetchOne(ctx, job));

  const commit = await readRef(ctx);
  const dir = path.join(ctx.repoDir, 'snapshots', commit ?? revisionDirName(ctx.revision));
  // Files found under another snapshot name (a server that sent no commit for some answers) join this one.
  for (const [i, job] of jobs.entries()) {
    const file = found[i];
    if (file === null || file === undefined) continue;
    const wanted = inside(dir, job.segments, job.file);
    if (file !== wanted && !(await isFile(wanted))) {
      await fsp.mkdir(path.dirname(wanted), { recursive: true });
      await fsp.copyFile(file, wanted);
    }
  }
  if (jobs.length === 0 && ctx.offline && !(await isDirectory(dir))) {
    throw offlineMiss(ctx, undefined, (await isDirectory(ctx.repoDir)) ? dir : ctx.repoDir);
  }
  return { id, revision: hub.revision, dir, local: false, commit };
}

async function directorySize(dir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  let entries;
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch {
    return { bytes, files };
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.name.endsWith('.part') || entry.name.endsWith('.lock') || entry.name.endsWith('.tmp')) continue;
    let stat;
    try {
      stat = await fsp.stat(full); // follows huggingface_hub's symlinks into blobs/
    } catch {
      continue; // a dangling symlink
    }
    if (stat.isDirectory()) {
      const sub = await directorySize(full);
      bytes += sub.bytes;
      files += sub.files;
    } else if (stat.isFile()) {
      bytes += stat.size;
      files += 1;
    }
  }
  return { bytes, files };
}

async function readRefs(refsDir: string, prefix = ''): Promise<Array<{ name: string; commit: string }>> {
  let entries;
  try {
    entries = await fsp.readdir(refsDir, { withFileTypes: true });
  } catch {
    return [];
  }
  const refs: Array<{ name: string; commit: string }> = [];
  for (const entry of entries) {
    const full = path.join(refsDir, entry.name);
    if (entry.isDirectory()) {
      refs.push(...(await readRefs(full, `${prefix}${entry.name}/`)));
    } else if (entry.isFile() && !entry.name.endsWith('.tmp')) {
      try {
        refs.push({ name: prefix + entry.name, commit: (await fsp.readFile(full, 'utf8')).trim() });
      } catch {
        // unreadable ref: skip
      }
    }
  }
  return refs;
}

/** Lists cached models: id, revision(s), dir, size in bytes. */
export async function listCachedModels(options: Pick<ModelSourceOptions, 'cacheDir'> = {}): Promise<CachedModel[]> {
  const cacheDir = path.resolve(expandHome(options.cacheDir ?? defaultCacheDir()));
  let entries;
  try {
    entries = await fsp.readdir(cacheDir, { withFileTypes: true });
  } catch {
    return [];
  }
  const models: CachedModel[] = [];
  for (const entry of entries) {
    if (!entry.name.startsWith('models--')) continue;
    const repoDir = path.join(cacheDir, entry.name);
    if (!(await isDirectory(repoDir))) continue;
    const id = entry.name.slice('models--'.length).split('--').join('/');
    const refs = await readRefs(path.join(repoDir, 'refs'));
    let snapshots;
    try {
      snapshots = await fsp.readdir(path.join(repoDir, 'snapshots'), { withFileTypes: true });
    } catch {
      continue;
    }
    for (const snap of snapshots) {
      const dir = path.join(repoDir, 'snapshots', snap.name);
      if (!(await isDirectory(dir))) continue;
      const { bytes, files } = await directorySize(dir);
      if (files === 0) continue;
      const revision = snap.name.includes('%') ? decodeURIComponent(snap.name) : snap.name;
      models.push({ id, revision, refs: refs.filter((r) => r.commit === snap.name).map((r) => r.name), dir, bytes, files });
    }
  }
  models.sort((a, b) => (a.id === b.id ? a.revision.localeCompare(b.revision) : a.id.localeCompare(b.id)));
  return models;
}
