'use strict';
// Which invocation is running, for the module-level helpers of Motia 1.0
// (`import { enqueue, logger, stateManager } from 'motia'`), which take no
// context argument. Once a step has loaded the SDK, the runner runs every
// handler inside `invocation.run`, so the SDK finds the handler's context
// through any number of awaits. Until then it does not: async context
// tracking slows every promise a little, and 0.17-style steps do not need it.

const { AsyncLocalStorage } = require('node:async_hooks');

const invocation = new AsyncLocalStorage();

const worker = {
  runner: null, // the Runner, for log lines written outside any invocation
  root: null, // the project directory from `init`
  sdkLoaded: false, // set by sdk/index.js
};

/** The running handler's context, or undefined outside any handler. */
function currentContext() {
  return invocation.getStore();
}

module.exports = { invocation, worker, currentContext };
