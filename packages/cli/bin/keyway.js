#!/usr/bin/env node
// Runs the TypeScript entry through tsx (no build step), like keyway-server.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../src/main.ts');
await main();
