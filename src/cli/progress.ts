/**
 * Progress of a long CLI job on stderr: a cli-progress bar (percentage, count, rate per second, ETA)
 * when the stream is a terminal, plain lines otherwise (logs, pipes, CI), at most one every
 * `intervalMs` plus the last one.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /**
   * Sets the number of items done. A fraction counts the done part of an item in progress (a large
   * document): the count shows whole items, the percentage, rate and ETA use the fraction. `detail`
   * (e.g. how far that item is) is shown after the figures until the next update.
   */
  update(done: number, detail?: string): void;
  /** Ends the display (prints the final plain line when not printed yet). */
  stop(): void;
}

export interface ProgressOptions {
  /** What is running, e.g. "indexing". */
  readonly label: string;
  /** The items counted, plural, e.g. "docs". */
  readonly unit: string;
  readonly total: number;
  /** Default process.stderr. */
  readonly stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Default: whether the stream is a TTY. */
  readonly tty?: boolean;
  /** Plain mode: minimum time between lines (default 2000 ms). */
  readonly intervalMs?: number;
  /** Clock in ms (default performance.now). */
  readonly now?: () => number;
}

/** "12.3" for small rates, "1234" for large ones. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return '0';
  return perSecond < 100 ? perSecond.toFixed(1) : Math.round(perSecond).toString();
}

/** "42s", "3m 05s", "2h 01m"; "?" when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? stream.isTTY === true;
  const now = options.now ?? (() => performance.now());
  const started = now();
  const total = Math.max(0, options.total);
  const rateOf = (done: number): number => {
    const seconds = (now() - started) / 1000;
    return seconds > 0 ? done / seconds : 0;
  };
  if (tty) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${options.label} [{bar}] {percentage}% | {items}/{total} ${options.unit} | {rate} ${options.unit}/s | ETA {eta_formatted}{detail}`,
        etaBuffer: 50,
        hideCursor: true,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { rate: '0', items: 0, detail: '' });
    return {
      update(done, detail) {
        bar.update(done, { rate: formatRate(rateOf(done)), items: Math.floor(done), detail: detail === undefined ? '' : ` | ${detail}` });
      },
      stop() {
        bar.stop();
      },
    };
  }
  const interval = options.intervalMs ?? 2000;
  let lastLine = -Infinity;
  let lastDone = -1;
  let lastDetail: string | undefined;
  let printedDone = -1;
  const line = (done: number, detail: string | undefined): void => {
    const rate = rateOf(done);
    const pct = total > 0 ? ` (${((100 * done) / total).toFixed(1)}%)` : '';
    const eta = done >= total ? 'done' : `ETA ${rate > 0 ? formatDuration((total - done) / rate) : '?'}`;
    stream.write(`${options.label}: ${Math.floor(done)}/${total} ${options.unit}${pct}, ${formatRate(rate)} ${options.unit}/s, ${eta}${detail === undefined ? '' : `; ${detail}`}\n`);
    lastLine = now();
    printedDone = done;
  };
  return {
    update(done, detail) {
      lastDone = done;
      lastDetail = detail;
      if (done >= total || now() - lastLine >= interval) line(done, detail);
    },
    stop() {
      if (lastDone >= 0 && printedDone !== lastDone) line(lastDone, lastDetail);
    },
  };
}
