/**
 * The `biencoder` executable as tests and benches spawn it: node's arguments that run the CLI from
 * the TypeScript sources through tsx (the installed package runs the compiled dist/cli/bin.js).
 */
import { fileURLToPath } from 'node:url';

export const CLI_BIN = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));
export const CLI: readonly string[] = ['--import', 'tsx', CLI_BIN];
