#!/usr/bin/env node
// Runs src/bin.ts through tsx (the package ships TypeScript sources; Node 20 cannot strip types).
import { register } from 'tsx/esm/api';

register();
await import(new URL('../src/bin.ts', import.meta.url).href);
