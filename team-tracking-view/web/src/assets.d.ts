// Imports ending in "?url" are files copied into the build with a hashed
// name (build.mjs); the import is their URL.
declare module "*?url" {
  const url: string;
  export default url;
}

// Imports ending in "?worker" are TypeScript files bundled as a Web
// Worker's classic script (build.mjs); the import is its URL, relative to
// the importing module (new URL(url, import.meta.url)).
declare module "*?worker" {
  const url: string;
  export default url;
}
