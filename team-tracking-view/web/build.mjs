// Bundles the view into ../dist, which the Go package embeds:
//   dist/index.html          from index.html, with the hashed asset names filled in
//   dist/assets/main-*.js    src/main.ts, Leaflet and Leaflet-Geoman, one ES module
//   dist/assets/styles-*.css styles.css, Leaflet's and Leaflet-Geoman's CSS
//   dist/assets/*            images that Leaflet's CSS refers to, source maps,
//                            files imported as "...?url" (the basemap's data),
//                            and scripts imported as "...?worker" (the stream's
//                            Web Worker, src/streamworker.ts)
//   dist/sw.js               sw/sw.ts, the service worker (a classic script)
// Every asset name carries a content hash, so the Go handler can serve them
// as immutable; index.html and sw.js (whose URL is fixed: a service
// worker's URL is its identity, and its scope comes from where it is) are
// the files that must be revalidated.
import * as esbuild from "esbuild";
import { mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const webDir = path.dirname(fileURLToPath(import.meta.url));
const distDir = path.resolve(webDir, "..", "dist");
const assetsDir = path.join(distDir, "assets");

// Empty dist/ but keep the committed placeholder (.gitkeep) that lets
// `go build` embed the directory on a fresh clone.
await mkdir(distDir, { recursive: true });
for (const name of await readdir(distDir)) {
  if (name !== ".gitkeep") {
    await rm(path.join(distDir, name), { recursive: true, force: true });
  }
}

const minify = process.env.VIEW_MINIFY !== "0";

// `import url from "pkg/file.json?url"`: the file is copied to assets/ with
// a hashed name and the import is its URL, so that large data (the
// basemap's) is fetched only when needed instead of swelling the bundle.
const assetURLs = {
  name: "asset-urls",
  setup(build) {
    build.onResolve({ filter: /\?url$/ }, async (args) => {
      const result = await build.resolve(args.path.slice(0, -"?url".length), { kind: args.kind, resolveDir: args.resolveDir });
      if (result.errors.length > 0) {
        return { errors: result.errors };
      }
      return { path: result.path, namespace: "asset-url" };
    });
    build.onLoad({ filter: /.*/, namespace: "asset-url" }, async (args) => ({
      contents: await readFile(args.path),
      loader: "file",
    }));
  },
};
const target = ["es2022", "chrome100", "firefox100", "safari15"];

// `import url from "./file.ts?worker"`: the file is bundled on its own as a
// classic script (a Web Worker's), copied to assets/ with a hashed name,
// and the import is its URL (relative: new URL(url, import.meta.url)).
const workerURLs = {
  name: "worker-urls",
  setup(build) {
    build.onResolve({ filter: /\?worker$/ }, async (args) => {
      const result = await build.resolve(args.path.slice(0, -"?worker".length), { kind: args.kind, resolveDir: args.resolveDir });
      if (result.errors.length > 0) {
        return { errors: result.errors };
      }
      // The file loader names the asset after this path: a script, .js.
      return { path: `${result.path.replace(/\.[cm]?[jt]s$/, "")}.js`, namespace: "worker-url", pluginData: { entry: result.path } };
    });
    build.onLoad({ filter: /.*/, namespace: "worker-url" }, async (args) => {
      const out = await esbuild.build({
        absWorkingDir: webDir,
        entryPoints: [args.pluginData.entry],
        bundle: true,
        write: false,
        format: "iife",
        conditions: ["source"],
        target,
        minify,
        sourcemap: false, // the file loader takes one file; the worker is small
        metafile: true,
        logLevel: "warning",
      });
      return {
        contents: out.outputFiles[0].contents,
        loader: "file",
        watchFiles: Object.keys(out.metafile.inputs).map((f) => path.resolve(webDir, f)),
      };
    });
  },
};

const result = await esbuild.build({
  // @teamtrack/client (../client) is bundled from its TypeScript source.
  conditions: ["source"],
  absWorkingDir: webDir,
  entryPoints: { main: "src/main.ts", styles: "styles.css" },
  outdir: assetsDir,
  entryNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  bundle: true,
  format: "esm",
  target,
  minify,
  sourcemap: "linked",
  loader: { ".png": "file", ".svg": "file" },
  plugins: [assetURLs, workerURLs],
  metafile: true,
  logLevel: "warning",
});

// Map each entry point to its output file name, relative to dist/.
const outputs = {};
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
  if (meta.entryPoint) {
    outputs[meta.entryPoint] = path.relative(distDir, path.resolve(webDir, file)).split(path.sep).join("/");
  }
}
const js = outputs["src/main.ts"];
const css = outputs["styles.css"];
if (!js || !css) {
  throw new Error(`build: missing entry outputs in ${JSON.stringify(outputs)}`);
}

// The service worker: one classic script at the root of dist/ (served at
// /sw.js, so its scope may be the whole view), its source map inline so
// that nothing but sw.js needs serving at the root.
await esbuild.build({
  absWorkingDir: webDir,
  entryPoints: ["sw/sw.ts"],
  outfile: path.join(distDir, "sw.js"),
  bundle: true,
  format: "iife",
  target,
  minify,
  sourcemap: "inline",
  logLevel: "warning",
});

let html = await readFile(path.join(webDir, "index.html"), "utf8");
for (const [placeholder, value] of [["__STYLES_CSS__", css], ["__MAIN_JS__", js]]) {
  if (!html.includes(placeholder)) {
    throw new Error(`build: index.html lacks the placeholder ${placeholder}`);
  }
  html = html.replaceAll(placeholder, value);
}
await writeFile(path.join(distDir, "index.html"), html);
