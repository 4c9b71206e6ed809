import { readFileSync } from 'node:fs';

/** The package's version (package.json is one level up from src/ and from dist/ alike). */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}
