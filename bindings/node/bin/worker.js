#!/usr/bin/env node
'use strict';
// Entry point the runtime spawns: `node bin/worker.js` with MOTIA_WORKER_FD=3.
require('../lib/index.js').main();
