/**
 * Setup file of the self-test projects (vitest.config.ts setupFiles): what the code under test
 * writes to stderr while a test runs (its progress lines, and the failures of stand-ins it was
 * made to meet: a kind that answers "boom", a gcloud that times out, a refused port) goes to the
 * test's own console output instead of straight to the terminal. vitest keeps that output with
 * the test, and with `silent: 'passed-only'` shows it only under a test that failed, named by the
 * test: a passing run prints no unexplained ERROR lines, a failing one keeps its evidence.
 *
 * A test that spies on process.stderr.write itself (to read the lines) replaces this for its
 * duration, as before.
 */
const direct = process.stderr.write.bind(process.stderr);
let inside = false;

function captured(chunk: string | Uint8Array, ...rest: unknown[]): boolean {
  // vitest's console does not write through here; the guard only keeps a console that did from looping.
  if (inside) return direct(chunk, ...(rest as []));
  inside = true;
  try {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    console.error(text.endsWith('\n') ? text.slice(0, -1) : text);
  } finally {
    inside = false;
  }
  const done = rest.find((r): r is () => void => typeof r === 'function');
  if (done) queueMicrotask(done);
  return true;
}

process.stderr.write = captured as typeof process.stderr.write;
