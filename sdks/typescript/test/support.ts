/** Shared by the tests: where the contract lives, and reading its fixtures. */

import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

/** The repository root (tests run from build-test/test/). */
export const REPO = fileURLToPath(new URL("../../../../", import.meta.url));
export const CONTRACT = join(REPO, "src", "promptops", "contract");
export const PACKAGE = join(REPO, "sdks", "typescript");

export function readJson<T = any>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

/** Every `*.json` of a fixture folder, by file stem, sorted. */
export function fixtureFiles<T = any>(folder: string): [string, T][] {
  const dir = join(CONTRACT, "fixtures", folder);
  return readdirSync(dir)
    .filter((name) => name.endsWith(".json"))
    .sort()
    .map((name) => [name.slice(0, -5), readJson<T>(join(dir, name))]);
}
