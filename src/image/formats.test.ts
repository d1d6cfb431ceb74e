/**
 * The codec registry dispatches GIF and AVIF to their codecs, types every
 * failure (corrupt AVIF 422, HEIC 415 naming HEIC), and still refuses GIF and
 * AVIF originals for serving until the pipeline picks their output format.
 */
import { describe, expect, it } from "vitest";
import { fixtureBytes } from "../../test/helpers";
import { UnprocessableError, UnsupportedFormatError } from "../http/errors";
import {
	assertDecodable,
	decodeImage,
	type EncodeRequest,
	type EncodeSettings,
	encodeImage,
} from "./formats";
import { summarizeGif } from "./gif";
import { type ImageInfo, probeImage } from "./probe";

const DIR = "originals/2025/10/";
const settings: EncodeSettings = {
	jpegQuality: 82,
	jpegProgressive: false,
	webpQuality: 82,
	negotiatedWebpQuality: 75,
	pngLevel: 2,
};
const request = (format: EncodeRequest["format"]): EncodeRequest => ({
	format,
	settings,
	lossless: false,
	negotiated: false,
});

async function probed(name: string): Promise<{ bytes: Uint8Array; info: ImageInfo }> {
	const bytes = await fixtureBytes(DIR + name);
	const r = probeImage(bytes);
	if (!r.ok) throw new Error(`${name}: probe wants more`);
	return { bytes, info: r.info };
}

describe("decodeImage / encodeImage: GIF and AVIF", () => {
	it("GIF in, GIF out at the same size with its transparent surround", async () => {
		const { bytes, info } = await probed("garden-cutout.gif");
		const image = await decodeImage(info.format, bytes);
		expect([image.width, image.height]).toEqual([info.width, info.height]);
		const out = await encodeImage(image, request("gif"));
		expect(summarizeGif(out)).toMatchObject({ width: 640, height: 480, frames: 1 });
		const back = await decodeImage("gif", out);
		expect(back.data[3]).toBe(0);
	});

	it("AVIF in, AVIF out (default quality and speed) at the same size", async () => {
		const { bytes, info } = await probed("autumn-irot3.avif");
		const image = await decodeImage(info.format, bytes);
		expect([image.width, image.height]).toEqual([320, 200]);
		const out = await encodeImage(image, request("avif"));
		expect(probeImage(out)).toMatchObject({ ok: true, info: { format: "avif", width: 320 } });
	});

	it("a truncated AVIF is 422, not 500", async () => {
		const { bytes, info } = await probed("colorful-cups-truncated.avif");
		await expect(decodeImage(info.format, bytes)).rejects.toBeInstanceOf(UnprocessableError);
	});
});

describe("assertDecodable", () => {
	it("HEIC: the probe and the registry both answer 415 naming HEIC", async () => {
		const bytes = await fixtureBytes(`${DIR}garden.heic`);
		expect(() => probeImage(bytes)).toThrow(UnsupportedFormatError);
		expect(() => probeImage(bytes)).toThrow(/HEIC/);
		const info: ImageInfo = {
			format: "heic",
			width: 800,
			height: 500,
			orientation: 1,
			hasAlpha: false,
			animated: false,
		};
		expect(() => assertDecodable(info)).toThrow(/HEIC/);
		await expect(decodeImage("heic", bytes)).rejects.toThrow(/HEIC/);
	});

	it("GIF (still and animated) and AVIF originals are served; animated WebP is refused (415)", async () => {
		for (const name of ["garden-cutout.gif", "bouncing-disc.gif", "colorful-cups.avif"]) {
			const { info } = await probed(name);
			expect(() => assertDecodable(info), name).not.toThrow();
		}
		const webp = { ...(await probed("garden-cutout.gif")).info, format: "webp", animated: true };
		expect(() => assertDecodable(webp as ImageInfo)).toThrow(UnsupportedFormatError);
	});
});
