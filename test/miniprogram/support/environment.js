// jsdom for miniprogram-simulate, plus Node's fetch so the test `wx` can reach the local stack over loopback.
const { TestEnvironment } = require('jest-environment-jsdom');

class MiniprogramEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    Object.assign(this.global, { fetch, Response, Headers, AbortSignal, TextEncoder, TextDecoder });
  }
}
module.exports = MiniprogramEnvironment;
