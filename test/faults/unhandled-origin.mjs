// Preloaded into the R4 child (NODE_OPTIONS=--import): when a rejection goes unhandled, says where
// its promise was created, so the test can tell a driver's dangling promise from one of hostlock's
// own. The process still dies as Node would make it (the reason is thrown again).
import { createHook } from 'node:async_hooks';

Error.stackTraceLimit = 30;
const origins = new WeakMap();
createHook({
  init(_id, type, _trigger, resource) {
    if (type === 'PROMISE') {
      origins.set(resource, new Error('promise created').stack);
    }
  },
}).enable();

process.on('unhandledRejection', (reason, promise) => {
  process.stderr.write(`unhandled rejection; ${origins.get(promise) ?? 'promise of unknown origin'}\n`);
  throw reason;
});
