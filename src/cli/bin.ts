#!/usr/bin/env node
// The `biencoder` executable: package.json's bin is the compiled dist/cli/bin.js.
import { main } from './main.ts';

process.exitCode = await main(process.argv);
