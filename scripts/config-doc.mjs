/**
 * The README's configuration table is generated from src/config/spec.ts.
 * `--check` (part of `npm run check`) fails when the README disagrees;
 * `--write` rewrites the table between its markers.
 */
import { readFile, writeFile } from "node:fs/promises";
import { importTs } from "./import-ts.mjs";

const README = new URL("../README.md", import.meta.url);
const START = "<!-- config-table:start (generated from src/config/spec.ts) -->";
const END = "<!-- config-table:end -->";

const { configTable } = await importTs(new URL("../src/config/spec.ts", import.meta.url));
const readme = await readFile(README, "utf8");
const [before, rest] = readme.split(START);
const after = rest?.split(END)[1];
if (before === undefined || after === undefined) {
	console.error(`README.md: the markers ${START} … ${END} are missing`);
	process.exit(1);
}
const wanted = `${before}${START}\n${configTable()}\n${END}${after}`;
if (process.argv.includes("--write")) {
	await writeFile(README, wanted);
} else if (wanted !== readme) {
	console.error(
		"README.md's configuration table differs from src/config/spec.ts: run node scripts/config-doc.mjs --write",
	);
	process.exit(1);
}
