// Imports ending in "?url" are files copied into the build with a hashed
// name (build.mjs); the import is their URL.
declare module "*?url" {
  const url: string;
  export default url;
}
