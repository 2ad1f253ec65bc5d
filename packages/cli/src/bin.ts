#!/usr/bin/env node
// The published `keyway` bin (compiled to dist/bin.js). In the repository, bin/keyway.js runs main.ts through tsx.
import { main } from './main.ts';

await main();
