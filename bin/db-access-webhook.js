#!/usr/bin/env node
// The `db-access-webhook` command (package.json "bin"). Node 24 runs the TypeScript sources directly.
import { processIo, run } from '../src/cli/main.ts';

// process.exitCode, not process.exit(): stdout drains fully into pipes before the process ends.
process.exitCode = await run(process.argv.slice(2), processIo());
