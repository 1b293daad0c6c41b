// Builds a JavaScript judge into a component; `gavel build` runs it as
//   node build.mjs TOOLS PROJECT/judge.js SDK/index.js WIT SCRATCH OUT.wasm
// with TOOLS the directory where it installed the pinned tools
// (tools/package-lock.json) and OUT in SCRATCH. It is not a build of its own:
// `gavel build` then writes the metadata of the project's package.json
// (version, license, author, repository) into a copy of OUT, the component
// the user gets, and leaves OUT as this script wrote it, so that the check
// below can tell it is up to date.
//
// componentize-js loads modules from files but resolves no package names,
// so rolldown first bundles judge.js, its own modules, the npm packages the
// project installed and this SDK (the bare `gavel-judge`) into one module;
// the WIT imports (`gavel:judge/...`) stay imports, for componentize-js.

import { createHash } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [tools, judge, sdk, wit, scratch, out] = process.argv.slice(2);

// The tools live in their own directory, not next to this script: import
// them from there, by the entry points of the pinned versions.
const from = (path) => import(pathToFileURL(join(tools, 'node_modules', path)).href);

try {
  await build();
} catch (error) {
  // What went wrong, without the tools' own stack.
  console.error(error.message);
  process.exit(1);
}

async function build() {
  const { rolldown } = await from('rolldown/dist/index.mjs');
  const bundled = join(scratch, 'judge.bundle.js');
  const unresolved = [];
  const bundle = await rolldown({
    input: judge,
    cwd: dirname(judge),
    external: [/^gavel:judge\//],
    resolve: { alias: { 'gavel-judge': sdk } },
    // The closest to StarlingMonkey: web APIs, no Node.js built-ins.
    platform: 'browser',
    onLog(level, log, handle) {
      if (log.code === 'UNRESOLVED_IMPORT') unresolved.push(log.message.split('\n')[0]);
      else handle(level, log);
    },
  });
  const { output } = await bundle.write({ file: bundled, format: 'esm' });
  await bundle.close();
  // A module left out would only fail later, with less to go on.
  if (unresolved.length > 0) {
    throw new Error(`${unresolved.join('\n')}\n(a package must be installed in the project: npm install NAME)`);
  }
  const entry = output.find((file) => file.type === 'chunk' && file.isEntry);
  if (!entry.exports.includes('judge')) {
    throw new Error(
      `${judge} exports no \`judge\`: export the judge as \`export const judge = defineJudge({ ... })\``,
    );
  }

  // componentize-js takes seconds: skip it when neither the bundle nor the
  // WIT nor the tools changed since it last wrote `out`.
  const key = sha256(await readFile(bundled), ...(await witFiles()), tools, out);
  const stamp = join(scratch, 'last-build');
  const last = await readFile(stamp, 'utf8').catch(() => '');
  if (last === `${key} ${await readFile(out).then(sha256, () => '')}`) return;

  const { componentize } = await from('@bytecodealliance/componentize-js/src/componentize.js');
  const { component } = await componentize({
    sourcePath: bundled,
    witPath: wit,
    worldName: 'plugin',
    // A judge needs no WASI: the host provides it with no files, environment,
    // network or arguments.
    disableFeatures: ['stdio', 'random', 'clocks', 'http', 'fetch-event'],
  });
  await writeFile(out, component);
  await writeFile(stamp, `${key} ${sha256(component)}`);
}

async function witFiles() {
  const names = (await readdir(wit)).filter((name) => name.endsWith('.wit')).sort();
  return Promise.all(names.flatMap((name) => [name, readFile(join(wit, name))]));
}

function sha256(...parts) {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex');
}
