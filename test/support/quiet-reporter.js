// Jest's default reporter, minus the console output of test files that passed: a green run is quiet (no log lines,
// no tool chatter), and a failing file still shows everything it logged, next to its failure.
const { DefaultReporter } = require('@jest/reporters');

class QuietReporter extends DefaultReporter {
  onTestResult(test, result, aggregated) {
    const passed = result.numFailingTests === 0 && !result.testExecError && !result.failureMessage;
    super.onTestResult(test, passed ? { ...result, console: undefined } : result, aggregated);
  }
}
module.exports = QuietReporter;
