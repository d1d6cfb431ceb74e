/**
 * Format, dimensions and orientation from the first bytes of an original, so the
 * worker can plan sizes and enforce pixel limits from a small ranged R2 read before
 * anything is decoded. Pure: no I/O, never throws anything but the two typed errors.
 */
import { UnprocessableError, UnsupportedFormatError } from "../http/errors";

export type ImageFormat = "jpeg" | "png" | "webp" | "gif" | "avif" | "heic";

export const MIME: Record<ImageFormat, string> = {
	jpeg: "image/jpeg",
	png: "image/png",
	webp: "image/webp",
	gif: "image/gif",
	avif: "image/avif",
	heic: "image/heic",
};

export type Orientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

export interface ImageInfo {
	format: ImageFormat;
	/** As stored, before EXIF rotation. */
	width: number;
	height: number;
	orientation: Orientation;
	hasAlpha: boolean;
	animated: boolean;
	jpeg?: { progressive: boolean; precision: number; components: number; sof: number };
	png?: { bitDepth: number; colorType: number; interlaced: boolean };
	/** Whether the image is VP8L (lossless); unknown for an animation (its frames may mix). */
	webp?: { lossless?: boolean };
}

export type ProbeResult = { ok: true; info: ImageInfo } | { ok: false; needBytes: number };

// Reads past the end yield 0; every parser checks lengths before trusting a value.
const at = (b: Uint8Array, i: number): number => b[i] ?? 0;
const u16be = (b: Uint8Array, i: number) => (at(b, i) << 8) | at(b, i + 1);
const u16le = (b: Uint8Array, i: number) => at(b, i) | (at(b, i + 1) << 8);
const u24le = (b: Uint8Array, i: number) => u16le(b, i) | (at(b, i + 2) << 16);
const u32be = (b: Uint8Array, i: number) => u16be(b, i) * 0x10000 + u16be(b, i + 2);
const ascii = (b: Uint8Array, i: number, s: string): boolean => {
	for (let k = 0; k < s.length; k++) if (at(b, i + k) !== s.charCodeAt(k)) return false;
	return i + s.length <= b.length;
};

/** Ask for more: always strictly more than we were given, so callers make progress. */
function need(b: Uint8Array, n: number): ProbeResult {
	return { ok: false, needBytes: Math.max(n, b.length + 1) };
}

function corrupt(format: string, detail: string): never {
	throw new UnprocessableError(`Corrupt ${format} header`, { detail: `${format}: ${detail}` });
}

const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Magic bytes only: the extension (and the R2 content type) are what users claim, not what is. */
export function detectFormat(b: Uint8Array): ImageFormat | null {
	if (at(b, 0) === 0xff && at(b, 1) === 0xd8 && at(b, 2) === 0xff) return "jpeg";
	if (b.length >= 8 && PNG_SIG.every((v, k) => b[k] === v)) return "png";
	if (ascii(b, 0, "GIF87a") || ascii(b, 0, "GIF89a")) return "gif";
	if (ascii(b, 0, "RIFF") && ascii(b, 8, "WEBP")) return "webp";
	if (ascii(b, 4, "ftyp")) return heifKind(b);
	return null;
}

/** HEIF brands whose images are HEVC (iPhone photos): not AV1, so not AVIF. */
const HEVC_BRANDS = ["heic", "heix", "heim", "heis", "hevc", "hevx", "hevm", "hevs"];

/**
 * An ISO-BMFF `ftyp`: AVIF when any brand is avif/avis, else HEIC when a brand
 * names HEVC, or is the generic still-image brand mif1/msf1 (left for HEVC).
 */
function heifKind(b: Uint8Array): ImageFormat | null {
	const brands = ftypBrands(b);
	if (brands.some((x) => x === "avif" || x === "avis")) return "avif";
	if (brands.some((x) => HEVC_BRANDS.includes(x) || x === "mif1" || x === "msf1")) return "heic";
	return null;
}

/** The major brand (at 8), then the compatible brands (skipping the minor version at 12). */
function ftypBrands(b: Uint8Array): string[] {
	const size = u32be(b, 0); // 0 = "to end of file", 1 = 64-bit size follows: rare here
	const end = Math.min(size >= 16 ? size : b.length, b.length);
	const brands: string[] = [];
	for (let i = 8; i + 4 <= end; i += i === 8 ? 8 : 4) brands.push(fourcc(b, i));
	return brands;
}

const fourcc = (b: Uint8Array, i: number) =>
	String.fromCharCode(at(b, i), at(b, i + 1), at(b, i + 2), at(b, i + 3));

/** Enough for every signature and the first few AVIF compatible brands. */
const DETECT_BYTES = 32;

/**
 * Probe a prefix of a file: its format and header, or how many bytes it needs
 * (the caller knows the file's size and turns "more than the file has" into
 * a truncated-file error: probeObject in origin/lookup.ts).
 */
export function probeImage(bytes: Uint8Array): ProbeResult {
	const format = detectFormat(bytes);
	if (!format) {
		if (bytes.length < DETECT_BYTES) return need(bytes, DETECT_BYTES);
		throw new UnsupportedFormatError("Unsupported image format");
	}
	return PROBES[format](bytes);
}

const PROBES: Record<ImageFormat, (b: Uint8Array) => ProbeResult> = {
	jpeg: probeJpeg,
	png: probePng,
	webp: probeWebp,
	gif: probeGif,
	avif: probeAvif,
	heic: () => {
		// No HEVC decoder ships with the worker: libheif-js is LGPL-3.0 with libde265
		// (HEVC, patent-pooled) in a 1.4 MB WASM, for uploads WordPress 6.7+ turns into JPEG.
		throw new UnsupportedFormatError(HEIC_REFUSAL);
	},
};

/** The 415 answer for HEIC/HEIF originals; names the format so the site owner knows. */
export const HEIC_REFUSAL =
	"HEIC originals are not supported: upload JPEG, or let WordPress 6.7+ convert HEIC to JPEG";

const ok = (info: ImageInfo): ProbeResult => ({ ok: true, info });

function probeJpeg(b: Uint8Array): ProbeResult {
	let i = 2; // just past SOI
	let orientation: Orientation = 1;
	let seenExif = false;
	for (;;) {
		if (i + 2 > b.length) return need(b, i + 4);
		if (at(b, i) !== 0xff) corrupt("JPEG", `expected marker at ${i}`);
		const m = at(b, i + 1);
		if (m === 0xff) {
			i++; // fill byte: any number of 0xFF may precede a marker
			continue;
		}
		if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
			i += 2; // TEM / RSTn stand alone, no length field
			continue;
		}
		if (m === 0x00 || m === 0xd8 || m === 0xd9 || m === 0xda) {
			corrupt("JPEG", `marker 0x${m.toString(16)} before frame header`);
		}
		if (i + 4 > b.length) return need(b, i + 4);
		const len = u16be(b, i + 2);
		if (len < 2) corrupt("JPEG", `segment length ${len} at ${i}`);
		const end = i + 2 + len;
		if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
			if (len < 8) corrupt("JPEG", `SOF length ${len}`);
			if (i + 10 > b.length) return need(b, i + 10);
			const precision = at(b, i + 4);
			const height = u16be(b, i + 5);
			const width = u16be(b, i + 7);
			const components = at(b, i + 9);
			// Height 0 means "see DNL after the first scan": not knowable from a prefix.
			if (height === 0 || width === 0) corrupt("JPEG", `SOF dims ${width}x${height}`);
			if (components === 0 || len < 8 + 3 * components) corrupt("JPEG", "SOF components");
			if (precision < 2 || precision > 16) corrupt("JPEG", `precision ${precision}`);
			const progressive = m === 0xc2 || m === 0xc6 || m === 0xca || m === 0xce;
			const jpeg = { progressive, precision, components, sof: m };
			// CMYK/YCCK JPEGs carry no alpha; APP14 Adobe only changes the colour transform.
			const info = { width, height, orientation, hasAlpha: false, animated: false, jpeg };
			return ok({ format: "jpeg", ...info });
		}
		if (m === 0xe1 && !seenExif && len >= 8) {
			// Need the whole segment (and the next header) anyway to reach SOF beyond it.
			if (end > b.length) return need(b, end + 4);
			if (ascii(b, i + 4, "Exif\0\0")) {
				seenExif = true;
				orientation = exifOrientation(b, i + 10, end);
			}
		}
		i = end;
	}
}

/**
 * IFD0 tag 0x0112 from a TIFF structure in b[start, end). Broken EXIF is common and
 * harmless to the pixels, so anything odd yields 1 rather than an error.
 */
export function exifOrientation(b: Uint8Array, start: number, end: number): Orientation {
	if (end - start < 8) return 1;
	const le = ascii(b, start, "II");
	if (!le && !ascii(b, start, "MM")) return 1;
	const u16 = (i: number) => (le ? u16le(b, i) : u16be(b, i));
	const u32 = (i: number) => (le ? u16le(b, i) + u16le(b, i + 2) * 0x10000 : u32be(b, i));
	if (u16(start + 2) !== 42) return 1;
	const ifd = start + u32(start + 4);
	if (ifd < start + 8 || ifd + 2 > end) return 1;
	const n = u16(ifd);
	for (let k = 0, e = ifd + 2; k < n && e + 12 <= end; k++, e += 12) {
		if (u16(e) !== 0x0112) continue;
		const v = u16(e + 8);
		return u16(e + 2) === 3 && u32(e + 4) === 1 && v >= 1 && v <= 8 ? (v as Orientation) : 1;
	}
	return 1;
}

// Valid bit depths per PNG colour type (spec table 11.1).
const PNG_DEPTHS: number[][] = [[1, 2, 4, 8, 16], [], [8, 16], [1, 2, 4, 8], [8, 16], [], [8, 16]];

function probePng(b: Uint8Array): ProbeResult {
	if (b.length < 33) return need(b, 33); // signature + IHDR chunk with CRC
	if (u32be(b, 8) !== 13 || !ascii(b, 12, "IHDR")) corrupt("PNG", "first chunk is not IHDR");
	const width = u32be(b, 16);
	const height = u32be(b, 20);
	if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) {
		corrupt("PNG", `IHDR dims ${width}x${height}`);
	}
	const bitDepth = at(b, 24);
	const colorType = at(b, 25);
	const interlace = at(b, 28);
	if (!PNG_DEPTHS[colorType]?.includes(bitDepth)) corrupt("PNG", `depth ${bitDepth}/${colorType}`);
	if (at(b, 26) !== 0 || at(b, 27) !== 0 || interlace > 1) corrupt("PNG", "IHDR methods");
	let hasAlpha = colorType === 4 || colorType === 6;
	let animated = false;
	// tRNS and acTL must both precede the first IDAT, so walk chunk headers up to it.
	for (let i = 33; ; ) {
		if (i + 8 > b.length) return need(b, i + 8);
		const len = u32be(b, i);
		if (len > 0x7fffffff) corrupt("PNG", `chunk length ${len}`);
		if (ascii(b, i + 4, "IDAT")) break;
		if (ascii(b, i + 4, "IEND")) corrupt("PNG", "no image data");
		if (ascii(b, i + 4, "tRNS")) hasAlpha = true;
		if (ascii(b, i + 4, "acTL")) {
			if (i + 12 > b.length) return need(b, i + 12);
			animated = u32be(b, i + 8) > 1; // num_frames; a 1-frame APNG is a still image
		}
		i += 12 + len;
	}
	const png = { bitDepth, colorType, interlaced: interlace === 1 };
	// PNG eXIf orientation is ignored: browsers and WordPress do not apply it either.
	return ok({ format: "png", width, height, orientation: 1, hasAlpha, animated, png });
}

function probeWebp(b: Uint8Array): ProbeResult {
	// RIFF header + first chunk header, then the fields that hold the dimensions.
	const want = ascii(b, 12, "VP8L") ? 25 : 30;
	if (b.length < want) return need(b, want);
	const base = { format: "webp", orientation: 1, hasAlpha: false, animated: false } as const;
	let info: ImageInfo;
	if (ascii(b, 12, "VP8 ")) {
		// Lossy key frame: 3-byte frame tag, start code 9d 01 2a, 14-bit dims + 2-bit scale.
		if ((at(b, 20) & 1) !== 0 || u24le(b, 23) !== 0x2a019d) corrupt("WebP", "VP8 frame tag");
		const size = { width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff };
		info = { ...base, ...size, webp: { lossless: false } };
	} else if (ascii(b, 12, "VP8L")) {
		// Lossless: signature 0x2f, then 14-bit width-1, 14-bit height-1, alpha bit, version.
		const bits = u16le(b, 21) + u16le(b, 23) * 0x10000;
		if (at(b, 20) !== 0x2f || bits >>> 29 !== 0) corrupt("WebP", "VP8L signature");
		const width = (bits & 0x3fff) + 1;
		const height = ((bits >>> 14) & 0x3fff) + 1;
		const hasAlpha = ((bits >>> 28) & 1) === 1;
		info = { ...base, width, height, hasAlpha, webp: { lossless: true } };
	} else if (ascii(b, 12, "VP8X")) {
		const extended = probeVp8x(b);
		if (!extended.ok) return extended;
		info = extended.info;
	} else {
		corrupt("WebP", "unknown first chunk");
	}
	if (info.width === 0 || info.height === 0) corrupt("WebP", "zero dimensions");
	return ok(info);
}

/**
 * Extended WebP: flags (ICC 0x20, alpha 0x10, EXIF 0x08, XMP 0x04, anim
 * 0x02), 24-bit canvas-1, then chunks up to the image's (ICCP, ALPH before
 * it): VP8L is lossless, an ALPH chunk is alpha whatever the flags say (libwebp
 * decodes it). A walk past the RIFF's end is a corrupt file. The EXIF chunk
 * sits after the image data, out of reach of a prefix: orientation stays 1.
 */
function probeVp8x(b: Uint8Array): ProbeResult {
	const flags = at(b, 20);
	const width = u24le(b, 24) + 1;
	const height = u24le(b, 27) + 1;
	const animated = (flags & 2) !== 0;
	const info = { format: "webp", orientation: 1, width, height, animated } as const;
	let hasAlpha = (flags & 0x10) !== 0;
	// (an animation's frames are in ANMF chunks, each lossy or lossless: not walked)
	const end = 8 + u16le(b, 4) + u16le(b, 6) * 0x10000;
	for (let i = 12; !animated; ) {
		if (i + 8 > end) corrupt("WebP", "no image chunk");
		if (i + 8 > b.length) return need(b, i + 8);
		const name = fourcc(b, i);
		if (name === "VP8 " || name === "VP8L") {
			return ok({ ...info, hasAlpha, webp: { lossless: name === "VP8L" } });
		}
		if (name === "ALPH") hasAlpha = true;
		const size = u16le(b, i + 4) + u16le(b, i + 6) * 0x10000;
		i += 8 + size + (size & 1);
	}
	return ok({ ...info, hasAlpha, webp: {} });
}

function probeGif(b: Uint8Array): ProbeResult {
	if (b.length < 13) return need(b, 13);
	const width = u16le(b, 6);
	const height = u16le(b, 8);
	if (width === 0 || height === 0) corrupt("GIF", `screen ${width}x${height}`);
	const packed = at(b, 10);
	let i = 13 + (packed & 0x80 ? 3 << ((packed & 7) + 1) : 0);
	let hasAlpha = false;
	let animated = false;
	// Walk extensions up to the first image descriptor. Counting frames would mean reading
	// the whole first frame, so "animated" means a NETSCAPE/ANIMEXTS looping extension.
	for (;;) {
		if (i + 1 > b.length) return need(b, i + 1);
		const block = at(b, i);
		if (block === 0x2c) break;
		if (block !== 0x21) corrupt("GIF", `block 0x${block.toString(16)} at ${i}`);
		const label = at(b, i + 1);
		let j = i + 2;
		// Label, then the first sub-block: it holds what we inspect (GCE flags, app identifier).
		if (j + 1 > b.length) return need(b, j + 1);
		if (j + 1 + at(b, j) > b.length) return need(b, j + 1 + at(b, j));
		if (label === 0xf9 && at(b, j) >= 4 && (at(b, j + 1) & 1) === 1) hasAlpha = true;
		if (label === 0xff && (ascii(b, j + 1, "NETSCAPE2.0") || ascii(b, j + 1, "ANIMEXTS1.0"))) {
			animated = true;
		}
		// Sub-blocks: a size byte then that many bytes, until a zero size.
		for (let size = -1; size !== 0; j += 1 + size) {
			if (j + 1 > b.length) return need(b, j + 1);
			size = at(b, j);
		}
		i = j;
	}
	return ok({ format: "gif", width, height, orientation: 1, hasAlpha, animated });
}

/**
 * Whether a whole JPEG file ends its image data with an EOI marker (FFD9) after
 * the first scan header. libjpeg decodes a cut-off file "successfully", grey
 * below the cut, with only a warning: this is how the pipeline tells a truncated
 * upload from a good one. Entropy-coded data never holds FFD9 (0xFF is stuffed),
 * so the last one found is the real end; bytes after it (camera trailers) are fine.
 */
export function jpegHasEnd(b: Uint8Array): boolean {
	let sos = -1;
	for (let i = 2; i + 4 <= b.length; ) {
		if (at(b, i) !== 0xff) return false;
		const m = at(b, i + 1);
		if (m === 0xff) {
			i++;
			continue;
		}
		if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
			i += 2;
			continue;
		}
		if (m === 0xda) {
			sos = i;
			break;
		}
		if (m === 0xd9) return false; // EOI before any scan: no image data
		i += 2 + u16be(b, i + 2);
	}
	if (sos < 0) return false;
	for (let k = b.length - 2; k > sos; k--) {
		if (b[k] === 0xff && b[k + 1] === 0xd9) return true;
	}
	return false;
}

/** An ISO-BMFF box: its type, where its payload starts, and where it ends. */
interface Box {
	readonly type: string;
	readonly body: number;
	readonly end: number;
}

/** The box header at i (needs 16 bytes for a 64-bit size); sizes are checked, not trusted. */
function boxAt(b: Uint8Array, i: number, limit: number): Box {
	const size32 = u32be(b, i);
	const large = size32 === 1;
	const size = large ? u32be(b, i + 8) * 2 ** 32 + u32be(b, i + 12) : size32;
	const header = large ? 16 : 8;
	const end = size === 0 ? limit : i + size;
	if (end < i + header || end > limit)
		corrupt("AVIF", `box ${fourcc(b, i + 4)} size ${size} at ${i}`);
	return { type: fourcc(b, i + 4), body: i + header, end };
}

/** The child boxes of b[start, end), all of which must be in the buffer. */
function children(b: Uint8Array, start: number, end: number): Box[] {
	const boxes: Box[] = [];
	for (let i = start; i + 8 <= end; ) {
		const box = boxAt(b, i, end);
		boxes.push(box);
		i = box.end;
	}
	return boxes;
}

/** A HEIF/AVIF image's size lives in the `ispe` property of the primary item, inside `meta`. */
function probeAvif(b: Uint8Array): ProbeResult {
	const animated = ftypBrands(b).includes("avis");
	for (let i = 0; ; ) {
		if (i + 16 > b.length) return need(b, i + 16);
		const box = boxAt(b, i, Number.MAX_SAFE_INTEGER);
		if (box.type !== "meta" && box.end === Number.MAX_SAFE_INTEGER) corrupt("AVIF", "no meta box");
		if (box.type === "meta") {
			if (box.end > b.length) return need(b, box.end);
			// meta is a full box: 4 bytes of version and flags before its children.
			return ok({ ...avifMeta(b, box.body + 4, box.end), animated });
		}
		i = box.end;
	}
}

/** From the meta box: the primary item's ispe, irot/imir, and whether an alpha plane exists. */
function avifMeta(b: Uint8Array, start: number, end: number): Omit<ImageInfo, "animated"> {
	const meta = children(b, start, end);
	const pitm = meta.find((x) => x.type === "pitm");
	const iprp = meta.find((x) => x.type === "iprp");
	if (!pitm || !iprp) corrupt("AVIF", "no primary item or properties");
	const primary = at(b, pitm.body) === 0 ? u16be(b, pitm.body + 4) : u32be(b, pitm.body + 4);
	const [ipco, ...rest] = children(b, iprp.body, iprp.end);
	if (ipco?.type !== "ipco") corrupt("AVIF", "iprp without ipco");
	const props = children(b, ipco.body, ipco.end);
	const ipma = rest.find((x) => x.type === "ipma");
	if (!ipma) corrupt("AVIF", "no ipma");
	const mine = associations(b, ipma, primary).map((k) => props[k - 1]);
	const ispe = mine.find((p) => p?.type === "ispe");
	if (!ispe || ispe.end - ispe.body < 12) corrupt("AVIF", `no ispe for item ${primary}`);
	const width = u32be(b, ispe.body + 4);
	const height = u32be(b, ispe.body + 8);
	if (width === 0 || height === 0) corrupt("AVIF", `ispe ${width}x${height}`);
	// An alpha plane is an auxiliary item whose auxC URN ends in "alpha".
	const urn = (p: Box) =>
		String.fromCharCode(...b.subarray(p.body + 4, Math.min(p.end, p.body + 68)));
	const hasAlpha = props.some((p) => p.type === "auxC" && urn(p).includes("alpha"));
	const orientation = heifOrientation(b, mine);
	return { format: "avif", width, height, orientation, hasAlpha };
}

/** The 1-based ipco indices `ipma` associates with `item`. */
function associations(b: Uint8Array, ipma: Box, item: number): number[] {
	const version = at(b, ipma.body);
	const wide = (at(b, ipma.body + 3) & 1) === 1; // flags bit 0: 15-bit indices
	let i = ipma.body + 8;
	for (let n = u32be(b, ipma.body + 4); n > 0 && i < ipma.end; n--) {
		const id = version < 1 ? u16be(b, i) : u32be(b, i);
		i += version < 1 ? 2 : 4;
		const count = at(b, i++);
		const found: number[] = [];
		for (let k = 0; k < count; k++, i += wide ? 2 : 1) {
			found.push(wide ? u16be(b, i) & 0x7fff : at(b, i) & 0x7f);
		}
		if (id === item) return found;
	}
	return [];
}

// EXIF orientation for "rotate cw quarter turns, then mirror": [no mirror, left-right, top-bottom].
const HEIF_TO_EXIF: Orientation[][] = [
	[1, 2, 4],
	[6, 5, 7],
	[3, 4, 2],
	[8, 7, 5],
];

/** irot (anti-clockwise quarter turns) then imir (mode 0: top-bottom flip, 1: left-right; ISO/IEC 23008-12:2022). */
function heifOrientation(b: Uint8Array, props: (Box | undefined)[]): Orientation {
	const irot = props.find((p) => p?.type === "irot");
	const imir = props.find((p) => p?.type === "imir");
	const cw = irot ? (4 - (at(b, irot.body) & 3)) % 4 : 0;
	const mirror = imir ? 2 - (at(b, imir.body) & 1) : 0;
	return HEIF_TO_EXIF[cw]?.[mirror] ?? 1;
}
