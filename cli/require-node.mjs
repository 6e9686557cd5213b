// The first thing every npm script runs (and vitest.config.ts imports first), on whatever Node
// is first on PATH: if that Node is older than the suite's floor, or the dependencies are not
// installed, say so in one line and exit 1, before anything crashes in a dependency. It must
// itself run on old Node, so it keeps to syntax Node 12 parses (no `??`, no `?.`, no top-level
// await) and to the fs module.
//
// The floor is package.json's `engines.node`, which is the intersection of what the
// dependencies declare: undici 8 (under @kubernetes/client-node 2) ">=22.19.0",
// testcontainers 12.2 ">= 22.22", vitest 5.1 "^22.12.0 || ^24.0.0 || >=26.0.0".
import { existsSync, readFileSync } from 'fs';

var pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
var range = pkg.engines.node;

/** @param {string} v @returns {[number, number, number]} */
function parts(v) {
  var p = v.replace(/^v/, '').split('.');
  return [Number(p[0]) || 0, Number(p[1]) || 0, Number(p[2]) || 0];
}

/** @param {[number, number, number]} a @param {[number, number, number]} b */
function compare(a, b) {
  var d = a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
  return d < 0 ? -1 : d > 0 ? 1 : 0;
}

// Understands the two comparators engines uses here: ">=X.Y.Z" and "^X.Y.Z", joined by "||".
/** @param {[number, number, number]} version @param {string} spec */
function satisfies(version, spec) {
  return spec.split('||').some(function (alt) {
    var m = /^\s*(\^|>=)\s*(\d+(?:\.\d+){0,2})\s*$/.exec(alt);
    if (!m) throw new Error('cli/require-node.mjs cannot read engines.node "' + spec + '"');
    var floor = parts(String(m[2]));
    if (compare(version, floor) < 0) return false;
    return m[1] === '>=' || version[0] === floor[0];
  });
}

var found = process.versions.node;
if (!satisfies(parts(found), range)) {
  var nvmrc = readFileSync(new URL('../.nvmrc', import.meta.url), 'utf8').trim();
  process.stderr.write(
    'egress-verify needs Node ' + range + ' (package.json engines); found Node ' + found + ' at ' + process.execPath
    + '. Get it: `nvm install && nvm use` (reads .nvmrc: ' + nvmrc + '), or without nvm: `npm install --prefix .tools/node'
    + nvmrc + ' node@' + nvmrc + '` and put .tools/node' + nvmrc + '/node_modules/node/bin first on PATH (as .ci/run does).\n',
  );
  process.exit(1);
}

// The dependencies, checked after the Node version (an old Node is the likelier cause of both).
// A folder that never saw `npm ci`, or one an interrupted `npm ci` left half-filled, would
// otherwise end in "vitest: not found" or a module-resolution stack.
var deps = Object.keys(pkg.dependencies || {}).concat(Object.keys(pkg.devDependencies || {}));
var missing = deps.filter(function (name) {
  return !existsSync(new URL('../node_modules/' + name + '/package.json', import.meta.url));
});
if (missing.length > 0) {
  process.stderr.write(
    'egress-verify: its dependencies are not installed (missing from node_modules: ' + missing.slice(0, 3).join(', ')
    + (missing.length > 3 ? ' and ' + (missing.length - 3) + ' more' : '') + '): run npm ci\n',
  );
  process.exit(1);
}
