/**
 * The Python peers some benches measure against (Debian's python3-numpy, python3-hnswlib,
 * python3-faiss), checked before any long work. Missing modules are installed with apt-get when the
 * bench runs as root (as .ci/run installs chromium); otherwise the bench stops at once with one line
 * saying how to get them. Debian's interpreter is used by path: a `python3` earlier on PATH (pyenv,
 * a virtualenv) does not see Debian's packages.
 *
 * BIENCODER_BENCH_PYTHON names another interpreter; BIENCODER_BENCH_NO_INSTALL=1 never runs apt-get
 * (the test of the missing-peer path uses both).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const PYTHON = process.env.BIENCODER_BENCH_PYTHON ?? '/usr/bin/python3';

function importsOk(modules: readonly string[]): boolean {
  if (!existsSync(PYTHON)) return false;
  try {
    execFileSync(PYTHON, ['-c', `import ${modules.join(', ')}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes sure Debian's python3 imports every module named (module -> Debian package) and returns the
 * interpreter's path. `skipHint` names the bench option that runs without the peers, if any.
 */
export function ensurePythonPeers(bench: string, packages: Readonly<Record<string, string>>, skipHint?: string): string {
  const modules = Object.keys(packages);
  if (importsOk(modules)) return PYTHON;
  const debs = ['python3', ...Object.values(packages)];
  const mayInstall = process.getuid?.() === 0 && process.env.BIENCODER_BENCH_NO_INSTALL !== '1' && existsSync('/usr/bin/apt-get');
  if (mayInstall) {
    console.error(`${bench}: installing the Python peers (${debs.join(' ')}) with apt-get ...`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    try {
      execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
      execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...debs], { stdio: ['ignore', 'ignore', 'inherit'], env });
    } catch (error) {
      console.error(`${bench}: apt-get failed: ${(error as Error).message.split('\n')[0]}`);
    }
    if (importsOk(modules)) return PYTHON;
  }
  const skip = skipHint === undefined ? '' : `, or run without them: ${skipHint}`;
  console.error(`${bench}: needs Python modules ${modules.join(', ')} in ${PYTHON}: sudo apt-get install ${debs.join(' ')}${skip}`);
  process.exit(1);
}
