/**
 * Runs the CLI: through main() in a worker thread shared by a test file (fast: the sources load
 * once), or as a real process running the executable's sources (src/cli/bin.ts through tsx).
 */
import { spawn, spawnSync } from 'node:child_process';
import { after } from 'node:test';
import { Worker } from 'node:worker_threads';
import { CLI } from '../helpers/cli-bin.ts';


export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, (r: CliResult) => void>();

function cliWorker(): Worker {
  if (worker !== undefined) return worker;
  const w = new Worker(new URL('./cli-worker.mjs', import.meta.url));
  w.on('message', (m: { id?: number } & CliResult) => {
    if (m.id === undefined) return;
    pending.get(m.id)?.({ code: m.code, stdout: m.stdout, stderr: m.stderr });
    pending.delete(m.id);
  });
  w.on('error', (error) => {
    for (const resolve of pending.values()) resolve({ code: null, stdout: '', stderr: String(error) });
    pending.clear();
  });
  w.on('exit', (code) => {
    for (const resolve of pending.values()) resolve({ code: null, stdout: '', stderr: `the CLI worker exited (${code})` });
    pending.clear();
    worker = undefined;
  });
  worker = w;
  return w;
}

// Registered when this module loads, at the top level of the importing test file: after all its tests.
after(() => worker?.terminate());

/** main(argv) with stdout and stderr captured (commands run one at a time). */
export function runCli(args: readonly string[]): Promise<CliResult> {
  const id = nextId++;
  return new Promise((resolve) => {
    pending.set(id, resolve);
    cliWorker().postMessage({ id, args: [...args] });
  });
}

/** The real executable in a child process. */
export function spawnCli(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', timeout: options.timeout ?? 120_000, cwd: options.cwd, env: options.env ?? process.env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The real executable, interrupted: SIGINT is sent once stderr matches `when` (a progress line, so that
 * the run is under way). Resolves when the process exits.
 */
export async function interruptCli(args: readonly string[], when: RegExp): Promise<CliResult & { signalled: boolean }> {
  const child = spawn(process.execPath, [...CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let signalled = false;
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
    if (!signalled && when.test(stderr)) {
      signalled = true;
      child.kill('SIGINT');
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, stdout, stderr, signalled };
}
