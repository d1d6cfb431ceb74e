/**
 * Import a dependency-free TypeScript module of src/ from a Node script (the
 * bench, the README check) without a build step: TypeScript's own transpiler
 * strips the types in memory.
 */
import { readFile } from "node:fs/promises";
import ts from "typescript";

export async function importTs(url) {
	const source = await readFile(url, "utf8");
	const { outputText } = ts.transpileModule(source, {
		compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
	});
	return import(`data:text/javascript;base64,${Buffer.from(outputText).toString("base64")}`);
}
