// The worker's own size plans (src/render/plan.ts, src/wp/sizes.ts) for Node
// scripts that must cut the same crop windows (bench/png-sharp.mjs,
// scripts/gd-png-reference.mjs): bundled by esbuild, the codecs' .wasm files
// the plan's module graph reaches left out.
import { build } from "esbuild";

const root = new URL("..", import.meta.url).pathname;

const bundle = await build({
	stdin: {
		contents:
			'export { uploadSizes } from "./src/render/plan"; export { DEFAULT_SIZES } from "./src/wp/sizes";',
		resolveDir: root,
		loader: "ts",
	},
	bundle: true,
	format: "esm",
	write: false,
	platform: "node",
	loader: { ".wasm": "empty" },
});
const plan = await import(
	`data:text/javascript;base64,${Buffer.from(bundle.outputFiles[0].text).toString("base64")}`
);

/** Every size the seed site's registry makes of an upload `file` (2025/09/) of width × height. */
export function registeredSizes(file, width, height) {
	const meta = {
		uploadKey: `2025/09/${file}`,
		sizesExt: file.slice(file.lastIndexOf(".") + 1),
		width,
		height,
		storedWidth: width,
		storedHeight: height,
	};
	return plan.uploadSizes(meta, plan.DEFAULT_SIZES);
}
