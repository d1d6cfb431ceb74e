/**
 * AVIF at codec level, inside workerd: libavif files made by avifenc
 * (fixtures/README.md) decode to the picture they were made from, what we
 * encode decodes back close to what went in, and broken files are 422.
 */
import { describe, expect, it } from "vitest";
import { fixtureBytes } from "../../test/helpers";
import { psnr } from "../../test/images";
import { UnprocessableError } from "../http/errors";
import { decodeAvif, encodeAvif } from "./avif";
import { decodeJpeg } from "./jpeg";
import type { RGBAImage } from "./orientation";
import { probeImage } from "./probe";
import { resizeRGBA } from "./resize";

const DIR = "originals/2025/10/";
const alphaAt = (img: RGBAImage, x: number, y: number) => img.data[(y * img.width + x) * 4 + 3];

/** What the fixture was encoded from: colorful-cups.jpg scaled to cover 1200x800, centre-cropped. */
async function cupsSource(): Promise<RGBAImage> {
	const jpeg = await decodeJpeg(await fixtureBytes("originals/2025/09/colorful-cups.jpg"));
	// 2560x1600 → 1280x800, crop 40 px each side: the source window is x 80..2480.
	const win = { x: 80, y: 0, w: 2400, h: 1600 };
	return resizeRGBA(jpeg, win, 1200, 800, { filter: "lanczos3", premultiply: false });
}

describe("decodeAvif", () => {
	it("an 8-bit 4:2:0 photo: size from ispe, the picture it was made from", async () => {
		const bytes = await fixtureBytes(`${DIR}colorful-cups.avif`);
		const img = await decodeAvif(bytes);
		const probed = probeImage(bytes);
		expect(probed.ok && [probed.info.width, probed.info.height]).toEqual([1200, 800]);
		expect([img.width, img.height]).toEqual([1200, 800]);
		expect(img.data.every((v, i) => (i & 3) !== 3 || v === 255)).toBe(true);
		expect(psnr(img, await cupsSource())).toBeGreaterThan(30);
	});

	it("an alpha plane: transparent surround, opaque middle", async () => {
		const img = await decodeAvif(await fixtureBytes(`${DIR}garden-cutout.avif`));
		expect([img.width, img.height]).toEqual([640, 480]);
		expect(alphaAt(img, 0, 0)).toBe(0);
		expect(alphaAt(img, 639, 479)).toBe(0);
		expect(alphaAt(img, 320, 240)).toBe(255);
	});

	it("a truncated file is 422, and the next decode still works", async () => {
		const cut = await fixtureBytes(`${DIR}colorful-cups-truncated.avif`);
		await expect(decodeAvif(cut)).rejects.toBeInstanceOf(UnprocessableError);
		await expect(decodeAvif(cut)).rejects.toMatchObject({
			status: 422,
			publicMessage: "Could not decode AVIF",
		});
		const good = await decodeAvif(await fixtureBytes(`${DIR}autumn-irot3.avif`));
		expect([good.width, good.height]).toEqual([320, 200]);
	});

	it("garbage after a valid ftyp is 422", async () => {
		const head = (await fixtureBytes(`${DIR}colorful-cups.avif`)).subarray(0, 32);
		const junk = new Uint8Array(4096).map((_, i) => (i * 73) & 0xff);
		await expect(decodeAvif(new Uint8Array([...head, ...junk]))).rejects.toBeInstanceOf(
			UnprocessableError,
		);
	});
});

describe("encodeAvif", () => {
	it("round trip: decode(encode(x)) is close to x (PSNR bound), at the size asked", async () => {
		const src = await decodeAvif(await fixtureBytes(`${DIR}colorful-cups.avif`));
		const win = { x: 0, y: 0, w: 1200, h: 800 };
		const small = await resizeRGBA(src, win, 300, 200, { filter: "lanczos3", premultiply: false });
		const out = await encodeAvif(small, { quality: 60, speed: 8 });
		const probed = probeImage(out);
		expect(probed.ok && probed.info).toMatchObject({ format: "avif", width: 300, height: 200 });
		const back = await decodeAvif(out);
		expect(psnr(back, small)).toBeGreaterThan(32);
		// Lower quality is smaller and further off, but still the same picture.
		const low = await encodeAvif(small, { quality: 20, speed: 8 });
		expect(low.length).toBeLessThan(out.length);
		expect(psnr(await decodeAvif(low), small)).toBeGreaterThan(24);
	});

	it("keeps alpha: transparent stays transparent", async () => {
		const src = await decodeAvif(await fixtureBytes(`${DIR}garden-cutout.avif`));
		const back = await decodeAvif(await encodeAvif(src, { quality: 50, speed: 9 }));
		expect(alphaAt(back, 0, 0)).toBe(0);
		expect(alphaAt(back, 320, 240)).toBe(255);
		expect(psnr(back, src)).toBeGreaterThan(30);
	});
});
