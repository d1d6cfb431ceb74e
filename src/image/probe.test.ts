import { describe, expect, it } from "vitest";
import { fixtureBytes } from "../../test/helpers";
import { UnprocessableError, UnsupportedFormatError } from "../http/errors";
import {
	detectFormat,
	type ImageInfo,
	jpegHasEnd,
	MIME,
	type ProbeResult,
	probeImage,
} from "./probe";

// ---- a tiny byte builder: numbers are bytes, strings are latin1 ----
type Part = number | string | Uint8Array | Part[];
function bytes(...parts: Part[]): Uint8Array {
	const out: number[] = [];
	const add = (p: Part): void => {
		if (typeof p === "number") out.push(p & 0xff);
		else if (typeof p === "string") for (const c of p) out.push(c.charCodeAt(0));
		else if (p instanceof Uint8Array) for (const v of p) out.push(v);
		else for (const q of p) add(q);
	};
	add(parts);
	return new Uint8Array(out);
}
const be16 = (v: number) => [v >> 8, v];
const le16 = (v: number) => [v, v >> 8];
const be32 = (v: number) => [v >>> 24, v >>> 16, v >>> 8, v];
const le32 = (v: number) => [v, v >>> 8, v >>> 16, v >>> 24];
const le24 = (v: number) => [v, v >> 8, v >> 16];

// JPEG
const seg = (marker: number, ...payload: Part[]) => {
	const body = bytes(payload);
	return bytes(0xff, marker, be16(body.length + 2), body);
};
const sof = (w: number, h: number, { marker = 0xc0, precision = 8, comps = 3 } = {}) =>
	seg(
		marker,
		precision,
		be16(h),
		be16(w),
		comps,
		Array.from({ length: comps }, (_, k) => [k + 1, 0x11, 0]),
	);
/** APP1 Exif with IFD0 entries [tag, type, count, value]; value is left-aligned in its 4 bytes. */
function exif(order: "II" | "MM", entries: [number, number, number, number][]) {
	const [u16, u32] = order === "II" ? [le16, le32] : [be16, be32];
	const ifd = entries.map(([tag, type, count, v]) => [
		u16(tag),
		u16(type),
		u32(count),
		type === 3 ? [u16(v), 0, 0] : u32(v),
	]);
	return seg(0xe1, "Exif\0\0", order, u16(42), u32(8), u16(entries.length), ifd, u32(0));
}
const orientationExif = (order: "II" | "MM", o: number) =>
	exif(order, [
		[0x011a, 5, 1, 0x4a],
		[0x0112, 3, 1, o],
	]);
const JFIF = seg(0xe0, "JFIF\0", 1, 1, 0, be16(1), be16(1), 0, 0);
const DQT = seg(0xdb, 0, new Uint8Array(64).fill(1));
const SOS = bytes(seg(0xda, 1, 1, 0, 0, 63, 0), 0x12, 0x34, 0xff, 0xd9);
const jpeg = (...segments: Part[]) => bytes(0xff, 0xd8, segments, SOS);

// PNG
const chunk = (type: string, ...data: Part[]) => {
	const body = bytes(data);
	return bytes(be32(body.length), type, body, 0, 0, 0, 0); // CRC is not checked by the probe
};
const PNG_SIG = [0x89, "PNG\r\n\x1a\n"];
const ihdr = (w: number, h: number, depth = 8, type = 6, interlace = 0) =>
	chunk("IHDR", be32(w), be32(h), depth, type, 0, 0, interlace);
const png = (head: Uint8Array, ...chunks: Part[]) =>
	bytes(PNG_SIG, head, chunks, chunk("IDAT", 1, 2, 3), chunk("IEND"));

// WebP
const riff = (type: string, ...data: Part[]) => {
	const body = bytes(data);
	return bytes("RIFF", le32(body.length + 12), "WEBP", type, le32(body.length), body);
};
const vp8 = (w: number, h: number) =>
	riff("VP8 ", 0x30, 0x01, 0x00, 0x9d, 0x01, 0x2a, le16(w), le16(h), 0, 0);
const vp8l = (w: number, h: number, alpha: boolean) =>
	riff("VP8L", 0x2f, le32((w - 1) | ((h - 1) << 14) | (alpha ? 1 << 28 : 0)), 0, 0, 0);
/** A RIFF chunk after the first (padded to even length). */
const webpChunk = (type: string, ...data: Part[]) => {
	const body = bytes(data);
	return bytes(type, le32(body.length), body, body.length & 1 ? [0] : []);
};
const VP8_CHUNK = webpChunk("VP8 ", 0x30, 0x01, 0x00, 0x9d, 0x01, 0x2a, le16(1), le16(1), 0, 0);
/** `file` with its RIFF size field set to `size`. */
const riffSized = (size: number, file: Uint8Array) => {
	new DataView(file.buffer, file.byteOffset).setUint32(4, size, true);
	return file;
};
const vp8x = (w: number, h: number, flags: number, ...chunks: Part[]) => {
	const body = bytes(webpChunk("VP8X", flags, 0, 0, 0, le24(w - 1), le24(h - 1)), chunks);
	return bytes("RIFF", le32(body.length + 4), "WEBP", body);
};

// GIF
const gif = (w: number, h: number, gct: number[] | null, ...blocks: Part[]) =>
	bytes(
		"GIF89a",
		le16(w),
		le16(h),
		gct ? 0x81 : 0,
		0,
		0,
		gct ?? [],
		blocks,
		0x2c,
		le16(0),
		le16(0),
		le16(w),
		le16(h),
		0,
		2,
		2,
		0x4c,
		0x01,
		0,
		0x3b,
	);
const gce = (transparent: boolean) => [0x21, 0xf9, 4, transparent ? 1 : 0, 0, 0, 0, 0];
const netscape = [0x21, 0xff, 11, "NETSCAPE2.0", 3, 1, 0, 0, 0];
const comment = (...subBlocks: string[]) => [0x21, 0xfe, subBlocks.map((s) => [s.length, s]), 0];

// AVIF/HEIF
const ftyp = (major: string, ...compat: string[]) =>
	bytes(be32(16 + 4 * compat.length), "ftyp", major, be32(0), compat, new Uint8Array(32));

function info(r: ProbeResult): ImageInfo {
	if (!r.ok) throw new Error(`expected a result, got needBytes ${r.needBytes}`);
	return r.info;
}
function caught(f: () => unknown): unknown {
	try {
		f();
	} catch (err) {
		return err;
	}
	throw new Error("expected a throw");
}
const expectThrows = (
	f: () => unknown,
	type: typeof UnprocessableError | typeof UnsupportedFormatError,
) => expect(f).toThrow(type);

/** Re-probe with exactly the requested length, as a caller would; returns each length asked for. */
function converge(file: Uint8Array, start: number): { info: ImageInfo; asked: number[] } {
	const asked: number[] = [];
	let n = start;
	for (;;) {
		const r = probeImage(file.subarray(0, n));
		if (r.ok) return { info: r.info, asked };
		expect(r.needBytes).toBeGreaterThan(n);
		expect(r.needBytes).toBeLessThanOrEqual(file.length);
		asked.push(r.needBytes);
		n = r.needBytes;
	}
}

describe("detectFormat", () => {
	it.each([
		["jpeg", jpeg(sof(1, 1))],
		["png", png(ihdr(1, 1))],
		["webp", vp8(1, 1)],
		["gif", gif(1, 1, null)],
		["avif", ftyp("avif", "mif1", "miaf")],
		["avif", ftyp("mif1", "miaf", "avis")],
		["heic", ftyp("heic", "mif1", "heic")],
		["heic", ftyp("mif1", "heix")],
		["heic", ftyp("mif1", "miaf")],
		["avif", ftyp("mif1", "miaf", "avif")],
		[null, ftyp("isom", "mp41")],
		[null, bytes("<!DOCTYPE html><html><body>not an image</body></html>")],
		[null, bytes("RIFF", le32(100), "WAVEfmt ")],
		[null, new Uint8Array(0)],
	])("%s", (format, b) => {
		expect(detectFormat(b)).toBe(format);
	});

	it("has a MIME type per format", () => {
		expect(MIME).toEqual({
			jpeg: "image/jpeg",
			png: "image/png",
			webp: "image/webp",
			gif: "image/gif",
			avif: "image/avif",
			heic: "image/heic",
		});
	});
});

describe("probeImage: JPEG", () => {
	it.each([
		[0xc0, false],
		[0xc1, false],
		[0xc2, true],
		[0xc3, false],
		[0xc5, false],
		[0xc6, true],
		[0xc7, false],
		[0xc9, false],
		[0xca, true],
		[0xcb, false],
		[0xcd, false],
		[0xce, true],
		[0xcf, false],
	])("SOF 0x%s: progressive=%s", (marker, progressive) => {
		const r = info(probeImage(jpeg(JFIF, DQT, sof(640, 480, { marker }))));
		expect(r).toEqual({
			format: "jpeg",
			width: 640,
			height: 480,
			orientation: 1,
			hasAlpha: false,
			animated: false,
			jpeg: { progressive, precision: 8, components: 3, sof: marker },
		});
	});

	it.each([0xc4, 0xc8, 0xcc])("marker 0x%s is a table, not a frame header", (marker) => {
		const r = info(probeImage(jpeg(seg(marker, 0, 0, 0, 0), sof(10, 20, { marker: 0xc1 }))));
		expect(r.jpeg?.sof).toBe(0xc1);
	});

	const orientations: ["II" | "MM", number, number][] = [
		...[1, 2, 3, 4, 5, 6, 7, 8].flatMap((o): ["II" | "MM", number, number][] => [
			["II", o, o],
			["MM", o, o],
		]),
		["II", 0, 1],
		["MM", 9, 1],
		["II", 0xffff, 1],
	];
	it.each(orientations)("EXIF %s orientation %s → %s", (order, value, expected) => {
		const r = info(probeImage(jpeg(JFIF, orientationExif(order, value), DQT, sof(40, 30))));
		expect(r.orientation).toBe(expected);
		expect([r.width, r.height]).toEqual([40, 30]); // as stored, never swapped
	});

	it.each([
		["LONG instead of SHORT", exif("II", [[0x0112, 4, 1, 6]])],
		["count 2", exif("MM", [[0x0112, 3, 2, 6]])],
		[
			"bad TIFF magic",
			seg(
				0xe1,
				"Exif\0\0",
				"II",
				le16(43),
				le32(8),
				le16(1),
				le16(0x112),
				le16(3),
				le32(1),
				le32(6),
			),
		],
		[
			"bad byte order",
			seg(
				0xe1,
				"Exif\0\0",
				"IM",
				le16(42),
				le32(8),
				le16(1),
				le16(0x112),
				le16(3),
				le32(1),
				le32(6),
			),
		],
		["IFD offset past the segment", seg(0xe1, "Exif\0\0", "MM", be16(42), be32(4000), be16(0))],
		["IFD offset into the TIFF header", seg(0xe1, "Exif\0\0", "MM", be16(42), be32(2), be16(0))],
		[
			"entry count larger than the segment",
			seg(0xe1, "Exif\0\0", "II", le16(42), le32(8), le16(900), le16(0x112)),
		],
		["XMP, not Exif", seg(0xe1, "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>")],
	])("broken or foreign APP1 (%s) → orientation 1", (_, app1) => {
		expect(info(probeImage(jpeg(app1, sof(8, 8)))).orientation).toBe(1);
	});

	it("uses the first Exif segment only", () => {
		const r = info(probeImage(jpeg(orientationExif("II", 8), orientationExif("II", 3), sof(8, 8))));
		expect(r.orientation).toBe(8);
	});

	it("skips fill bytes and standalone markers", () => {
		const b = bytes(
			0xff,
			0xd8,
			0xff,
			0xff,
			0xff,
			0xd0,
			0xff,
			0x01,
			0xff,
			0xff,
			JFIF,
			0xff,
			sof(7, 5, { precision: 12, comps: 1 }),
		);
		expect(info(probeImage(b)).jpeg).toEqual({
			progressive: false,
			precision: 12,
			components: 1,
			sof: 0xc0,
		});
	});

	it("parses a 60000x60000 header (the caller enforces pixel limits)", () => {
		const r = info(probeImage(jpeg(sof(60000, 60000))));
		expect([r.width, r.height]).toEqual([60000, 60000]);
	});

	it.each([
		["height 0 (DNL)", jpeg(sof(100, 0))],
		["width 0", jpeg(sof(0, 100))],
		["zero components", jpeg(sof(10, 10, { comps: 0 }))],
		["SOF shorter than its components", jpeg(seg(0xc0, 8, be16(10), be16(10), 3, 1, 0x11, 0))],
		["precision 0", jpeg(sof(10, 10, { precision: 0 }))],
		["segment length 0", bytes(0xff, 0xd8, 0xff, 0xe0, 0, 0, sof(1, 1))],
		["segment length 1", bytes(0xff, 0xd8, 0xff, 0xe0, 0, 1, sof(1, 1))],
		["garbage between segments", bytes(0xff, 0xd8, JFIF, 0x00, sof(1, 1))],
		["stuffed 0xFF00", bytes(0xff, 0xd8, 0xff, 0x00, sof(1, 1))],
		["scan before frame", bytes(0xff, 0xd8, SOS, sof(1, 1))],
		["EOI before frame", bytes(0xff, 0xd8, 0xff, 0xd9)],
		["second SOI", bytes(0xff, 0xd8, 0xff, 0xd8, sof(1, 1))],
	])("%s → UnprocessableError", (_, b) => {
		const err = caught(() => probeImage(b));
		expect(err).toBeInstanceOf(UnprocessableError);
		expect(err).toMatchObject({ publicMessage: "Corrupt JPEG header", status: 422 });
	});

	it("walks a 60 KB EXIF thumbnail and an ICC profile segment by segment", () => {
		// The Exif IFD followed by a thumbnail-sized tail, as phone cameras write it.
		const big = seg(0xe1, orientationExif("MM", 6).subarray(4), new Uint8Array(60_000));
		const icc = seg(0xe2, "ICC_PROFILE\0", 1, 1, new Uint8Array(3000));
		const file = jpeg(JFIF, big, icc, DQT, sof(4000, 3000));
		const app1At = 2 + JFIF.length;
		const iccAt = app1At + big.length;
		const dqtAt = iccAt + icc.length;
		const sofAt = dqtAt + DQT.length;
		const { info: r, asked } = converge(file, 100);
		// Past APP1 (we need all of it to read EXIF), then each next header, then the SOF fields.
		expect(asked).toEqual([iccAt + 4, dqtAt + 4, sofAt + 4, sofAt + 10]);
		expect(r).toMatchObject({ width: 4000, height: 3000, orientation: 6 });
	});

	it.each([0, 1, 2, 3, 5])("asks for the first segment header when given %s bytes", (n) => {
		const r = probeImage(jpeg(JFIF, sof(1, 1)).subarray(0, n));
		expect(r).toEqual({ ok: false, needBytes: n < 3 ? 32 : 6 });
	});

	it("asks for more when the header is cut short (the caller knows whether the file ends there)", () => {
		const b = bytes(0xff, 0xd8, JFIF, DQT);
		expect(probeImage(b).ok).toBe(false);
	});
});

describe("probeImage: PNG", () => {
	const rgba = { bitDepth: 8, colorType: 6, interlaced: false };
	const rgb = { bitDepth: 8, colorType: 2, interlaced: false };
	it.each([
		["RGBA", ihdr(1400, 923), [], { width: 1400, height: 923, hasAlpha: true, png: rgba }],
		[
			"RGB 16-bit",
			ihdr(10, 20, 16, 2),
			[],
			{ width: 10, height: 20, hasAlpha: false, png: { ...rgb, bitDepth: 16 } },
		],
		[
			"RGB + tRNS",
			ihdr(10, 20, 8, 2),
			[chunk("tRNS", 0, 0, 0, 0, 0, 0)],
			{ hasAlpha: true, png: rgb },
		],
		[
			"palette + tRNS",
			ihdr(1, 1, 4, 3),
			[chunk("PLTE", 0, 0, 0), chunk("tRNS", 0)],
			{ hasAlpha: true, png: { bitDepth: 4, colorType: 3, interlaced: false } },
		],
		[
			"grey, interlaced",
			ihdr(1, 1, 1, 0, 1),
			[],
			{ hasAlpha: false, png: { bitDepth: 1, colorType: 0, interlaced: true } },
		],
		[
			"grey + alpha",
			ihdr(1, 1, 8, 4),
			[],
			{ hasAlpha: true, png: { bitDepth: 8, colorType: 4, interlaced: false } },
		],
		["APNG", ihdr(1, 1), [chunk("acTL", be32(12), be32(0))], { hasAlpha: true, animated: true }],
		[
			"1-frame APNG",
			ihdr(1, 1, 8, 2),
			[chunk("acTL", be32(1), be32(0))],
			{ hasAlpha: false, animated: false },
		],
		[
			"width 2^31-1 behind a big iCCP",
			ihdr(2 ** 31 - 1, 1, 8, 2),
			[chunk("iCCP", new Uint8Array(5000))],
			{ width: 2 ** 31 - 1, height: 1 },
		],
	])("%s", (_, head, chunks, expected) => {
		expect(info(probeImage(png(head, ...chunks)))).toMatchObject({
			format: "png",
			orientation: 1,
			animated: false,
			...expected,
		});
	});

	it.each([
		["width 2^31", png(ihdr(2 ** 31, 1))],
		["height 2^32-1", png(ihdr(1, 2 ** 32 - 1))],
		["width 0", png(ihdr(0, 1))],
		["16-bit palette", png(ihdr(1, 1, 16, 3))],
		["colour type 5", png(ihdr(1, 1, 8, 5))],
		["interlace 2", png(ihdr(1, 1, 8, 6, 2))],
		["IHDR length 12", bytes(PNG_SIG, chunk("IHDR", be32(1), be32(1), 8, 6, 0, 0), chunk("IDAT"))],
		["first chunk not IHDR", bytes(PNG_SIG, chunk("gAMA", be32(0), 0, 0, 0, 0, 0), chunk("IDAT"))],
		["IEND before IDAT", bytes(PNG_SIG, ihdr(1, 1), chunk("IEND"))],
		["chunk length 2^31", bytes(PNG_SIG, ihdr(1, 1), be32(2 ** 31), "tEXt")],
	])("%s → UnprocessableError", (_, b) => {
		expectThrows(() => probeImage(b), UnprocessableError);
	});

	it("asks for IHDR, then for chunk headers up to IDAT", () => {
		const file = png(ihdr(3, 4), chunk("iCCP", new Uint8Array(1000)), chunk("tRNS", 1));
		const { info: r, asked } = converge(file, 8);
		expect(asked).toEqual([33, 41, 33 + 1012 + 8, 33 + 1012 + 13 + 8]);
		expect(r).toMatchObject({ width: 3, height: 4, hasAlpha: true });
	});

	it("a truncated IHDR asks for the rest of it", () => {
		const b = png(ihdr(3, 4)).subarray(0, 20);
		expect(probeImage(b)).toEqual({ ok: false, needBytes: 33 });
	});
});

describe("probeImage: WebP", () => {
	it.each([
		[
			"lossy VP8",
			vp8(1024, 768),
			{ width: 1024, height: 768, hasAlpha: false, animated: false, webp: { lossless: false } },
		],
		["VP8 scale bits are ignored", vp8(0xc000 | 300, 0x4000 | 200), { width: 300, height: 200 }],
		[
			"lossless VP8L",
			vp8l(16384, 1, false),
			{ width: 16384, height: 1, hasAlpha: false, webp: { lossless: true } },
		],
		["lossless VP8L + alpha", vp8l(3, 16384, true), { width: 3, height: 16384, hasAlpha: true }],
		[
			"VP8X plain",
			vp8x(5000, 4000, 0, VP8_CHUNK),
			{ width: 5000, height: 4000, hasAlpha: false, animated: false, webp: { lossless: false } },
		],
		[
			"VP8X alpha + EXIF",
			vp8x(2 ** 24, 7, 0x18, webpChunk("ALPH", 1, 2, 3), VP8_CHUNK),
			{ width: 2 ** 24, height: 7, hasAlpha: true, animated: false, webp: { lossless: false } },
		],
		[
			"VP8X ICC + lossless",
			vp8x(30, 20, 0x20, webpChunk("ICCP", new Uint8Array(301)), webpChunk("VP8L", 0x2f, 0, 0)),
			{ width: 30, height: 20, hasAlpha: false, webp: { lossless: true } },
		],
		[
			"VP8X with an ALPH chunk its flags do not declare",
			vp8x(30, 20, 0, webpChunk("ALPH", 1), VP8_CHUNK),
			{ hasAlpha: true, webp: { lossless: false } },
		],
		[
			"VP8X animated (frames not walked)",
			vp8x(100, 50, 0x12),
			{ width: 100, height: 50, hasAlpha: true, animated: true, webp: {} },
		],
	])("%s", (_, b, expected) => {
		expect(info(probeImage(b))).toMatchObject({ format: "webp", orientation: 1, ...expected });
	});

	it.each([
		[
			"VP8 without start code",
			riff("VP8 ", 0x30, 0x01, 0x00, 0x9d, 0x01, 0x2b, le16(1), le16(1), 0, 0),
		],
		["VP8 inter frame", riff("VP8 ", 0x31, 0x01, 0x00, 0x9d, 0x01, 0x2a, le16(1), le16(1), 0, 0)],
		["VP8 zero width", vp8(0, 10)],
		["VP8L bad signature", riff("VP8L", 0x2e, le32(0), 0, 0, 0)],
		["VP8L version 1", riff("VP8L", 0x2f, le32(1 << 29), 0, 0, 0)],
		["unknown first chunk", riff("ALPH", new Uint8Array(16))],
		["VP8X without an image chunk", vp8x(30, 20, 0, webpChunk("ICCP", 1, 2))],
		[
			"VP8X, a chunk past the RIFF's end",
			riffSized(30, vp8x(30, 20, 0, webpChunk("ICCP", 1), VP8_CHUNK)),
		],
	])("%s → UnprocessableError", (_, b) => {
		expectThrows(() => probeImage(b), UnprocessableError);
	});

	it("asks for 30 bytes", () => {
		expect(probeImage(vp8x(1, 1, 0).subarray(0, 16))).toEqual({ ok: false, needBytes: 30 });
	});

	it("VP8X: asks for the chunks up to the image's (a big ICC profile first)", () => {
		const file = vp8x(30, 20, 0, webpChunk("ICCP", new Uint8Array(5000)), VP8_CHUNK);
		expect(probeImage(file.subarray(0, 64))).toEqual({ ok: false, needBytes: 30 + 8 + 5000 + 8 });
		expect(info(probeImage(file))).toMatchObject({ webp: { lossless: false } });
	});
});

describe("probeImage: GIF", () => {
	const palette = Array.from({ length: 12 }, (_, k) => k);
	it.each([
		["plain", gif(320, 200, null), false, false],
		["global palette + opaque GCE", gif(320, 200, palette, gce(false)), false, false],
		["transparent GCE", gif(320, 200, palette, comment("hello", "world"), gce(true)), true, false],
		["NETSCAPE loop", gif(320, 200, palette, netscape, gce(false)), false, true],
		[
			"ANIMEXTS loop",
			gif(320, 200, null, [0x21, 0xff, 11, "ANIMEXTS1.0", 3, 1, 0, 0, 0]),
			false,
			true,
		],
	])("%s", (_, b, hasAlpha, animated) => {
		expect(info(probeImage(b))).toEqual({
			format: "gif",
			width: 320,
			height: 200,
			orientation: 1,
			hasAlpha,
			animated,
		});
	});

	it.each([
		["zero height", gif(10, 0, null)],
		["trailer before any image", bytes("GIF87a", le16(1), le16(1), 0, 0, 0, 0x3b)],
		["junk block", bytes("GIF87a", le16(1), le16(1), 0, 0, 0, 0x99)],
	])("%s → UnprocessableError", (_, b) => {
		expectThrows(() => probeImage(b), UnprocessableError);
	});

	it("walks extensions block by block", () => {
		const file = gif(2, 2, palette, comment("a".repeat(200), "b".repeat(100)), netscape);
		const { info: r, asked } = converge(file, 13);
		// Comment at 25 (sub-blocks of 200 and 100, ends at 330), NETSCAPE at 330 (ends at 349),
		// image descriptor at 349: each step asks for the next size byte or the first sub-block.
		expect(asked).toEqual([26, 28, 228, 229, 330, 331, 333, 344, 345, 349, 350]);
		expect(r.animated).toBe(true);
	});
});

describe("probeImage: other formats", () => {
	it("calls an AVIF without a meta box corrupt", () => {
		expectThrows(() => probeImage(ftyp("avif", "mif1")), UnprocessableError);
	});

	it.each([
		["heic", ftyp("heic", "mif1")],
		["heix", ftyp("heix", "mif1")],
		["mif1 only", ftyp("mif1", "miaf")],
	])("HEIC (%s) → 415 naming HEIC", (_, b) => {
		const err = caught(() => probeImage(b));
		expect(err).toBeInstanceOf(UnsupportedFormatError);
		expect((err as UnsupportedFormatError).publicMessage).toMatch(/HEIC/);
	});

	it.each([
		["HTML", bytes("<!DOCTYPE html><html><body>not an image</body></html>")],
		["BMP", bytes("BM", new Uint8Array(60))],
	])("%s → UnsupportedFormatError", (_, b) => {
		expectThrows(() => probeImage(b), UnsupportedFormatError);
	});

	it("asks for more before calling a short prefix unsupported", () => {
		expect(probeImage(bytes("BM"))).toEqual({ ok: false, needBytes: 32 });
	});
});

describe("probeImage: real files", () => {
	const dir = "originals/2025/09/";
	const cases: [string, Partial<ImageInfo>][] = [
		[
			"autumn-tiny.jpg",
			{
				format: "jpeg",
				width: 320,
				height: 200,
				orientation: 1,
				jpeg: { progressive: false, precision: 8, components: 3, sof: 0xc0 },
			},
		],
		[
			"garden-progressive.jpg",
			{
				format: "jpeg",
				width: 1200,
				height: 750,
				orientation: 1,
				jpeg: { progressive: true, precision: 8, components: 3, sof: 0xc2 },
			},
		],
		["elephants-phone.jpg", { format: "jpeg", width: 1600, height: 900, orientation: 6 }],
		["elephants-phone-rotated.jpg", { format: "jpeg", width: 900, height: 1600, orientation: 1 }],
		["colorful-cups.jpg", { format: "jpeg", width: 2560, height: 1600, orientation: 1 }],
		["harbour-friends.jpeg", { format: "jpeg", width: 2056, height: 3088 }],
		["harbour-friends-scaled.jpeg", { format: "jpeg", width: 1704, height: 2560 }],
		[
			"AdobeStock_1228396051_Editorial_Use_Only.jpeg",
			{ format: "jpeg", width: 3264, height: 2176 },
		],
		[
			"AdobeStock_1228396051_Editorial_Use_Only-scaled.jpeg",
			{ format: "jpeg", width: 2560, height: 1707 },
		],
		[
			"goldfish.png",
			{
				format: "png",
				width: 1400,
				height: 923,
				orientation: 1,
				hasAlpha: true,
				animated: false,
				png: { bitDepth: 8, colorType: 6, interlaced: false },
			},
		],
	];

	it.each(cases)("%s from a 64 KiB prefix", async (name, expected) => {
		const file = await fixtureBytes(dir + name);
		const r = info(probeImage(file.subarray(0, 64 * 1024)));
		expect(r).toMatchObject({ hasAlpha: expected.format === "png", animated: false, ...expected });
		expect(info(probeImage(file))).toEqual(r);
	});

	it.each(
		cases.flatMap(([name, expected]) => [1, 20, 100].map((n) => [name, n, expected] as const)),
	)("%s converges from %s bytes", async (name, start, expected) => {
		const file = await fixtureBytes(dir + name);
		const { info: r, asked } = converge(file, start);
		expect(r).toMatchObject(expected);
		expect(asked.length).toBeLessThanOrEqual(6);
		expect(asked.at(-1) ?? start).toBeLessThan(400); // these headers are all near the start
	});
});

describe("probeImage: GIF, AVIF and HEIC files", () => {
	const dir = "originals/2025/10/";
	it.each([
		[
			"garden-cutout.gif",
			{ format: "gif", width: 640, height: 480, hasAlpha: true, animated: false },
		],
		[
			"bouncing-disc.gif",
			{ format: "gif", width: 400, height: 300, hasAlpha: true, animated: true },
		],
		["colorful-cups.avif", { format: "avif", width: 1200, height: 800, hasAlpha: false }],
		// The header is whole; only the image data is cut (decoding it is a 422).
		["colorful-cups-truncated.avif", { format: "avif", width: 1200, height: 800 }],
		["garden-cutout.avif", { format: "avif", width: 640, height: 480, hasAlpha: true }],
		// Stored 320x200, shown rotated: irot 3 (270° anti-clockwise) is EXIF 6, imir 1 is EXIF 2.
		["autumn-irot3.avif", { format: "avif", width: 320, height: 200, orientation: 6 }],
		["autumn-imir1.avif", { format: "avif", width: 320, height: 200, orientation: 2 }],
	] as const)("%s", async (name, expected) => {
		const file = await fixtureBytes(dir + name);
		const { info: r, asked } = converge(file, 32);
		expect(r).toMatchObject({ orientation: 1, animated: false, ...expected });
		expect(asked.at(-1) ?? 0).toBeLessThan(1024); // header-only: the meta box is at the start
		expect(info(probeImage(file))).toEqual(r);
	});

	it("refuses a real HEIC (iPhone-style, HEVC) with 415 naming HEIC", async () => {
		const file = await fixtureBytes(`${dir}garden.heic`);
		const thrown = caught(() => probeImage(file.subarray(0, 64)));
		expect(thrown).toBeInstanceOf(UnsupportedFormatError);
		expect((thrown as UnsupportedFormatError).publicMessage).toMatch(/HEIC/);
	});
});

// ---- hostile input: only a result or one of the two typed errors, and fast ----
function mulberry32(seed: number): () => number {
	let a = seed;
	return () => {
		a = (a + 0x6d2b79f5) | 0;
		let t = Math.imul(a ^ (a >>> 15), 1 | a);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

function expectWellBehaved(b: Uint8Array): "ok" | "need" | "error" {
	try {
		const r = probeImage(b);
		if (r.ok) {
			const { width, height, orientation } = r.info;
			expect(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0).toBe(
				true,
			);
			expect(orientation >= 1 && orientation <= 8).toBe(true);
			return "ok";
		}
		expect(Number.isSafeInteger(r.needBytes) && r.needBytes > b.length).toBe(true);
		return "need";
	} catch (err) {
		if (err instanceof UnprocessableError || err instanceof UnsupportedFormatError) return "error";
		throw err;
	}
}

describe("probeImage: fuzz", () => {
	it.each([
		["elephants-phone.jpg", 400],
		["garden-progressive.jpg", 300],
		["goldfish.png", 120],
	])("2,000 mutations of the %s header", async (name, size) => {
		const seed = (await fixtureBytes(`originals/2025/09/${name}`)).slice(0, size);
		const rand = mulberry32(size);
		const int = (n: number) => Math.floor(rand() * n);
		const seen = { ok: 0, need: 0, error: 0 };
		const started = performance.now();
		for (let k = 0; k < 2000; k++) {
			const b = seed.slice(0, rand() < 0.2 ? int(size) : size);
			for (let m = 1 + int(4); m > 0; m--) {
				const at = 2 + int(Math.max(1, b.length - 2)); // mostly keep the signature
				b[at] = rand() < 0.3 ? 0xff : rand() < 0.5 ? 0 : int(256);
			}
			seen[expectWellBehaved(b)]++;
		}
		expect(performance.now() - started).toBeLessThan(2000);
		expect(seen.ok + seen.need).toBeGreaterThan(0);
		expect(seen.error).toBeGreaterThan(0);
	});

	it("random bytes behind each signature", () => {
		const rand = mulberry32(42);
		const heads = [
			bytes(0xff, 0xd8, 0xff),
			bytes(PNG_SIG),
			bytes("GIF89a"),
			bytes("RIFF", 0, 0, 0, 0, "WEBP"),
			bytes(0, 0, 0, 24, "ftypavif"),
			bytes(),
		];
		for (let k = 0; k < 3000; k++) {
			const head = heads[k % heads.length] ?? bytes();
			const b = bytes(
				head,
				Array.from({ length: Math.floor(rand() * 200) }, () => Math.floor(rand() * 256)),
			);
			expectWellBehaved(b);
		}
	});

	it("is fast on pathological padding and tiny segments", () => {
		const ffs = bytes(0xff, 0xd8, new Uint8Array(1 << 20).fill(0xff));
		const tiny = bytes(
			0xff,
			0xd8,
			Array.from({ length: 100_000 }, () => [0xff, 0xfe, 0, 2]),
		);
		const chunks = bytes(
			PNG_SIG,
			ihdr(1, 1),
			Array.from({ length: 50_000 }, () => chunk("tEXt")),
		);
		const started = performance.now();
		expect(probeImage(ffs)).toEqual({ ok: false, needBytes: ffs.length + 3 });
		expect(probeImage(tiny)).toEqual({ ok: false, needBytes: tiny.length + 4 });
		expect(probeImage(chunks)).toEqual({ ok: false, needBytes: chunks.length + 8 });
		expect(performance.now() - started).toBeLessThan(500);
	});
});

describe("jpegHasEnd: is the whole file there?", () => {
	const whole = jpeg(JFIF, DQT, sof(8, 8));
	it.each([
		["complete", whole, true],
		["trailing bytes after EOI (camera trailer)", bytes(whole, "trailer", 0, 1, 2), true],
		["EOI cut off", whole.subarray(0, whole.length - 2), false],
		["cut inside the scan", whole.subarray(0, whole.length - 3), false],
		["cut inside the header", whole.subarray(0, 20), false],
		["no scan at all", bytes(0xff, 0xd8, JFIF, 0xff, 0xd9), false],
		["garbage instead of a marker", bytes(0xff, 0xd8, 0x00, 0x00, 0xff, 0xd9), false],
		["empty", new Uint8Array(0), false],
	])("%s → %s", (_, file, expected) => {
		expect(jpegHasEnd(file)).toBe(expected);
	});

	it("accepts every fixture original", async () => {
		for (const name of ["garden-progressive.jpg", "elephants-phone.jpg", "autumn-tiny.jpg"]) {
			expect(jpegHasEnd(await fixtureBytes(`originals/2025/09/${name}`))).toBe(true);
		}
	});
});
