// Builds payql's GraphiQL page into app/static/graphiql/: graphiql.js, graphiql.css, their
// licences (graphiql.LEGAL.txt) and versions.json. Run `npm ci && node build.mjs`;
// `node build.mjs --check` builds into memory and fails if the committed files differ.
//
// GraphiQL 3 (CodeMirror 5), not 5 (Monaco): Monaco needs three web workers, which the page's
// CSP would have to allow from blob: or extra files, and it makes the bundle several times
// larger; CodeMirror 5 runs in the page itself, and this is the GraphiQL generation
// Strawberry's own page ships.
//
// Reproducible: every package is pinned in package-lock.json, the output names are fixed
// (no hashes, no timestamps, no source maps with absolute paths), and esbuild is itself pinned.
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "..", "app", "static", "graphiql");
const check = process.argv.includes("--check");

function version(name) {
  const manifest = join(here, "node_modules", name, "package.json");
  return JSON.parse(readFileSync(manifest, "utf8")).version;
}

const result = await build({
  absWorkingDir: here,
  entryPoints: { graphiql: "src/index.js" },
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  platform: "browser",
  define: { "process.env.NODE_ENV": '"production"' },
  // The fonts GraphiQL's CSS embeds stay data: URLs; nothing is fetched from elsewhere.
  loader: { ".woff": "dataurl", ".woff2": "dataurl", ".svg": "dataurl" },
  legalComments: "external",
  charset: "utf8",
  outdir: out,
  write: false,
  logLevel: "warning",
});

const files = new Map();
for (const file of result.outputFiles) {
  const name = relative(out, file.path).replace("graphiql.js.LEGAL.txt", "graphiql.LEGAL.txt");
  if (name.endsWith(".css.LEGAL.txt")) continue; // the same licences as the script's
  files.set(name, Buffer.from(file.contents));
}
// What was installed, which `npm ci` makes what package.json and package-lock.json pin.
const pinned = JSON.parse(readFileSync(join(here, "package.json"), "utf8")).dependencies;
const versions = Object.fromEntries(Object.keys(pinned).map((name) => [name, version(name)]));
files.set("versions.json", Buffer.from(`${JSON.stringify(versions, null, 2)}\n`));

const stale = [];
for (const [name, contents] of files) {
  const target = join(out, name);
  if (check) {
    const committed = await readFile(target).catch(() => null);
    if (committed === null || !committed.equals(contents)) stale.push(name);
  } else {
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, contents);
  }
}
if (stale.length) {
  console.error(`app/static/graphiql is stale (${stale.join(", ")}): run node build.mjs`);
  process.exit(1);
}
for (const [name, contents] of files) console.log(`${name} ${contents.length} bytes`);
