import { describe, expect, it } from "vitest";
import { errorResponse } from "../http/respond";
import { smoothFaintColours } from "../image/alpha";
import { decodeImage } from "../image/formats";
import type { RGBAImage } from "../image/orientation";
import { type DecodedSource, render } from "./pipeline";
import { RESIZE } from "./settings";

const ENCODE = {
	jpegQuality: 82,
	jpegProgressive: false,
	webpQuality: 86,
	negotiatedWebpQuality: 80,
	pngLevel: 1,
};

/** A 4x4 opaque grey source, as a decode of a file that shrank since its lookup. */
const small = async () => ({
	image: { width: 4, height: 4, data: new Uint8ClampedArray(64).fill(128) },
	scale: 8,
	transparent: false,
	lossless: false,
});

/** A soft shadow: faint alpha with noisy colours (what un-premultiplying leaves). */
function shadow(width: number, height: number): RGBAImage {
	const data = new Uint8ClampedArray(width * height * 4);
	let seed = 7;
	for (let i = 0; i < data.length; i++) {
		seed = (seed * 1103515245 + 12345) >>> 0;
		data[i] = i % 4 === 3 ? 1 + ((i >> 2) % 40) : seed >>> 24;
	}
	return { data, width, height };
}

describe("render pipeline", () => {
	it("a crop window outside the decoded source is a changed original: 503 to retry, not 422", async () => {
		const job = {
			source: small,
			format: "jpeg" as const,
			crop: { x: 0, y: 0, w: 8, h: 8 },
			width: 2,
			height: 2,
			orientation: 1 as const,
			output: "jpeg" as const,
			negotiated: false,
			encode: ENCODE,
			palette: false,
			resize: RESIZE,
			deadline: Date.now() + 10_000,
		};
		const error = await render(job).then(
			() => undefined,
			(err: unknown) => err,
		);
		const response = errorResponse(error);
		expect(response.status).toBe(503);
		expect(response.headers.get("Retry-After")).not.toBeNull();
		expect(response.headers.get("Cache-Control")).toBe("no-store");
	});
});

describe("render never changes the shared decode", () => {
	it("a PNG size at the source's own size (no resize, no rotation) leaves its pixels alone", async () => {
		const image = shadow(64, 48);
		const source: DecodedSource = { image, scale: 8, transparent: true, lossless: false };
		const { width, height } = image;
		const before = image.data.slice();
		// The PNG step would change these pixels (so the test can fail).
		const smoothed = smoothFaintColours({ ...image, data: image.data.slice() });
		expect(smoothed.data).not.toEqual(before);
		const rendered = await render({
			source: async () => source,
			format: "png",
			crop: { x: 0, y: 0, w: width, h: height },
			width,
			height,
			orientation: 1,
			output: "png",
			negotiated: false,
			encode: ENCODE,
			palette: false,
			resize: RESIZE,
			deadline: Date.now() + 60_000,
		});
		expect(source.image.data).toEqual(before);
		// The size itself was smoothed.
		const out = await decodeImage("png", rendered.bytes);
		expect(out.data).toEqual(smoothed.data);
	});
});
