#!/usr/bin/env node
// One closing line for the whole `npm test`: the workerd suite and the browser
// test each write a vitest JSON report; this adds them up as "N passed, N failed".
// Other reports by name as arguments (`wordpress` for test-results/wordpress.json).
import { readFile } from "node:fs/promises";

let passed = 0;
let failed = 0;
let skipped = 0;
const names = process.argv.length > 2 ? process.argv.slice(2) : ["workerd", "e2e"];
for (const name of names) {
	const report = JSON.parse(
		await readFile(new URL(`../test-results/${name}.json`, import.meta.url), "utf8"),
	);
	passed += report.numPassedTests;
	failed += report.numFailedTests;
	skipped += report.numPendingTests + report.numTodoTests;
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
