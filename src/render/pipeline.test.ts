import { describe, expect, it } from "vitest";
import { errorResponse } from "../http/respond";
import { render } from "./pipeline";
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
