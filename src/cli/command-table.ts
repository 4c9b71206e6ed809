/**
 * The CLI's commands by name, each loaded only when it runs: a command's module imports what it
 * needs (onnxruntime, SQLite, fastify, pg), and `biencoder --help` should not pay for all of them.
 * The top-level help lists these terms and summaries; each command's own `--help` is its module's.
 */
import type { Command } from 'commander';

export interface CommandEntry {
  /** How the top-level help names it: the name, `[options]` and its arguments. */
  readonly term: string;
  readonly summary: string;
  readonly load: () => Promise<Command>;
}

export const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  embed: {
    term: 'embed [options]',
    summary: 'Embed texts read from stdin: one JSON line out per input.',
    load: async () => (await import('./commands/embed.ts')).embedCommand(),
  },
  models: {
    term: 'models [options]',
    summary: 'List the models in the cache, and the bundled default.',
    load: async () => (await import('./commands/models.ts')).modelsCommand(),
  },
  check: {
    term: 'check [options] <dir>',
    summary: "Check a collection's integrity (exit 3 when problems are found).",
    load: async () => (await import('./commands/check.ts')).checkCommand(),
  },
  index: {
    term: 'index [options] <paths...>',
    summary: 'Index documents into a collection; reruns skip what is already indexed.',
    load: async () => (await import('./commands/index.ts')).indexCommand(),
  },
  tune: {
    term: 'tune [options]',
    summary: 'Train a query adapter from judged queries (searches improve; documents are not re-embedded).',
    load: async () => (await import('./commands/tune.ts')).tuneCommand(),
  },
  search: {
    term: 'search [options] <query>',
    summary: 'Search a collection with a text query.',
    load: async () => (await import('./commands/search.ts')).searchCommand(),
  },
  demo: {
    term: 'demo [options] [query]',
    summary: 'Index the bundled sample with the embedded default model and answer a question (offline).',
    load: async () => (await import('./commands/demo.ts')).demoCommand(),
  },
  info: {
    term: 'info [options] <dir>',
    summary: 'Show a collection: model, index settings, documents, index state, disk usage.',
    load: async () => (await import('./commands/info.ts')).infoCommand(),
  },
  delete: {
    term: 'delete [options]',
    summary: 'Delete documents (with their chunks) from a collection, or a whole collection.',
    load: async () => (await import('./commands/delete.ts')).deleteCommand(),
  },
  mcp: {
    term: 'mcp [options]',
    summary: 'Serve collections to MCP clients (AI assistants, agents) over stdio.',
    load: async () => (await import('./commands/mcp.ts')).mcpCommand(),
  },
  serve: {
    term: 'serve [options]',
    summary: 'Serve collections over HTTP: search, documents, embeddings, metrics and a search page.',
    load: async () => (await import('./commands/serve.ts')).serveCommand(),
  },
  eval: {
    term: 'eval [options]',
    summary: 'Evaluate retrieval on a BEIR-format dataset or a cross-lingual task.',
    load: async () => (await import('./commands/eval.ts')).evalCommand(),
  },
  migrate: {
    term: 'migrate [options] <dir> <url>',
    summary: 'Copy an embedded collection into PostgreSQL + pgvector, then verify it.',
    load: async () => (await import('./commands/migrate.ts')).migrateCommand(),
  },
};
