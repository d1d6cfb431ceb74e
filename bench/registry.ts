/**
 * Every size the seed site's registry makes of an upload `file` (2025/09/)
 * of width × height, as WordPress plans it: one copy for the benches in
 * workerd (png-sizes.ts) and, bundled by scripts/wp-sizes.mjs, for Node
 * scripts that cut the same windows.
 */
import type { UploadMeta } from "../src/origin/lookup";
import { type UploadSize, uploadSizes } from "../src/render/plan";
import { DEFAULT_SIZES } from "../src/wp/sizes";

export function registeredSizes(file: string, width: number, height: number): UploadSize[] {
	const meta = {
		uploadKey: `2025/09/${file}`,
		sizesExt: file.slice(file.lastIndexOf(".") + 1),
		width,
		height,
		storedWidth: width,
		storedHeight: height,
	};
	return uploadSizes(meta as UploadMeta, DEFAULT_SIZES);
}
