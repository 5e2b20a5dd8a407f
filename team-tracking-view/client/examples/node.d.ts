// The little of Node's API the examples use (the package has no
// dependencies, @types/node included).
declare const process: {
  env: Record<string, string | undefined>;
  exitCode: number | undefined;
  exit(code?: number): never;
  on(signal: "SIGINT" | "SIGTERM", f: () => void): void;
};
