// The worker's own size plans (bench/registry.ts over src/render/plan.ts and
// src/wp/sizes.ts) for Node scripts that must cut the same crop windows
// (bench/png-sharp.mjs, scripts/gd-png-reference.mjs): bundled by esbuild,
// the codecs' .wasm files the plan's module graph reaches left out.
import { build } from "esbuild";

const root = new URL("..", import.meta.url).pathname;

const bundle = await build({
	stdin: {
		contents: 'export { registeredSizes } from "./bench/registry";',
		resolveDir: root,
		loader: "ts",
	},
	bundle: true,
	format: "esm",
	write: false,
	platform: "node",
	loader: { ".wasm": "empty" },
});
/** Every size the seed site's registry makes of an upload `file` (2025/09/) of width × height. */
export const { registeredSizes } = await import(
	`data:text/javascript;base64,${Buffer.from(bundle.outputFiles[0].text).toString("base64")}`
);
