/**
 * What the PNG benches in workerd share (png-speed.test.ts, oxipng.test.ts):
 * the fixtures, read before any work (a fixture read after minutes of
 * rendering has lost its connection), every size the seed site's registry
 * makes of a decoded PNG, and one size rendered by the real pipeline
 * (resize, smoothing/quantising, our encoder).
 */
import type { Rect } from "../src/image/orientation";
import { type DecodedSource, type Rendered, render } from "../src/render/pipeline";
import type { UploadSize } from "../src/render/plan";
import { RESIZE } from "../src/render/settings";
import { fixtureBytes } from "../test/helpers";
import { registeredSizes } from "./registry";

const SETTINGS = {
	jpegQuality: 82,
	jpegProgressive: false,
	webpQuality: 86,
	negotiatedWebpQuality: 80,
	pngLevel: 1,
};

/** The fixtures of fixtures/originals/2025/09/, by file name. */
export async function readFixtures(files: readonly string[]): Promise<Map<string, Uint8Array>> {
	const out = new Map<string, Uint8Array>();
	for (const file of files) out.set(file, await fixtureBytes(`originals/2025/09/${file}`));
	return out;
}

/** Every size the registry makes of the decoded `file`, as WordPress plans it. */
export const sizesOf = (file: string, source: DecodedSource): UploadSize[] =>
	registeredSizes(file, source.image.width, source.image.height);

/** The crop window of a planned size. */
export const cropOf = (p: UploadSize["plan"]): Rect => ({
	x: p.srcX,
	y: p.srcY,
	w: p.srcW,
	h: p.srcH,
});

/** One PNG size of `crop` at width × height, as the request path makes it. */
export function renderPng(
	file: string,
	source: DecodedSource,
	crop: Rect,
	width: number,
	height: number,
): Promise<Rendered> {
	return render({
		source: async () => source,
		format: "png",
		crop,
		width,
		height,
		orientation: 1,
		output: "png",
		negotiated: false,
		encode: SETTINGS,
		palette: file.includes("palette"),
		resize: RESIZE,
		deadline: Date.now() + 600_000,
	});
}
