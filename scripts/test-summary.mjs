#!/usr/bin/env node
// One closing line for the whole `npm test`: the workerd suite and the browser
// test each write a vitest JSON report; this adds them up as "N passed, N failed".
import { readFile } from "node:fs/promises";

let passed = 0;
let failed = 0;
let skipped = 0;
for (const name of ["workerd", "e2e"]) {
	const report = JSON.parse(
		await readFile(new URL(`../test-results/${name}.json`, import.meta.url), "utf8"),
	);
	passed += report.numPassedTests;
	failed += report.numFailedTests;
	skipped += report.numPendingTests + report.numTodoTests;
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
