// ESM and CommonJS builds with type declarations: tsc twice, then mark dist/cjs as CommonJS.
import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";

const tsc = new URL("../node_modules/typescript/bin/tsc", import.meta.url).pathname;
rmSync(new URL("../dist", import.meta.url), { recursive: true, force: true });
// The ESM build type-checks the core (without Node's types: no Node-only API on the core
// path); the CommonJS build emits the same sources, so it skips the second check.
execFileSync(process.execPath, [tsc, "-p", "tsconfig.json"], { stdio: "inherit" });
execFileSync(process.execPath, [tsc, "-p", "tsconfig.cjs.json", "--noCheck"], { stdio: "inherit" });
writeFileSync(new URL("../dist/cjs/package.json", import.meta.url), '{ "type": "commonjs" }\n');
