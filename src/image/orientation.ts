/**
 * EXIF orientation as geometry. The worker crops the stored pixels with
 * `rectToStored`, resizes to the stored-orientation size, then `applyOrientation`s
 * the small result, so all three functions derive from one coordinate table and
 * cannot disagree.
 */
import { InternalError } from "../http/errors";
import type { Orientation } from "./probe";

export interface Rect {
	x: number;
	y: number;
	w: number;
	h: number;
}

export interface RGBAImage {
	data: Uint8ClampedArray;
	width: number;
	height: number;
}

/**
 * For each orientation, the stored coordinate of an upright pixel (ux, uy):
 *   sx = a·ux + b·uy (+ W-1 if a or b is negative)
 *   sy = d·ux + e·uy (+ H-1 if d or e is negative)
 * where W×H is the stored size. Derived from the EXIF definitions of where the
 * stored 0th row and 0th column end up (e.g. 6: row 0 is the visual right side).
 */
const MAP: Record<Orientation, readonly [a: number, b: number, d: number, e: number]> = {
	1: [1, 0, 0, 1], // normal
	2: [-1, 0, 0, 1], // mirror horizontal
	3: [-1, 0, 0, -1], // rotate 180
	4: [1, 0, 0, -1], // mirror vertical
	5: [0, 1, 1, 0], // transpose
	6: [0, 1, -1, 0], // rotate 90 CW
	7: [0, -1, -1, 0], // transverse
	8: [0, -1, 1, 0], // rotate 270 CW
};

/** Orientations 5-8 put stored rows on the display's columns. */
export function uprightSize(
	width: number,
	height: number,
	o: Orientation,
): { width: number; height: number } {
	return o >= 5 ? { width: height, height: width } : { width, height };
}

/**
 * A rect in upright (displayed) coordinates → the rect holding the same pixels in
 * stored coordinates. Works on pixel edges (continuous coordinates), where mirroring
 * x is W - x, so empty and full-size rects map exactly.
 */
export function rectToStored(rect: Rect, o: Orientation, storedW: number, storedH: number): Rect {
	const [a, b, d, e] = MAP[o];
	const sx = (x: number, y: number) => a * x + b * y + (a < 0 || b < 0 ? storedW : 0);
	const sy = (x: number, y: number) => d * x + e * y + (d < 0 || e < 0 ? storedH : 0);
	const x0 = sx(rect.x, rect.y);
	const y0 = sy(rect.x, rect.y);
	const x1 = sx(rect.x + rect.w, rect.y + rect.h);
	const y1 = sy(rect.x + rect.w, rect.y + rect.h);
	return {
		x: Math.min(x0, x1),
		y: Math.min(y0, y1),
		w: Math.abs(x1 - x0),
		h: Math.abs(y1 - y0),
	};
}

/**
 * The upright image: a new buffer unless o === 1 (then `img` itself). Each output
 * row is a linear walk through the source, so one pass over Uint32 pixels suffices.
 */
export function applyOrientation(img: RGBAImage, o: Orientation): RGBAImage {
	const { width: W, height: H } = img;
	if (img.data.length !== W * H * 4) {
		throw new InternalError("Image processing failed", {
			detail: `RGBA buffer of ${img.data.length} bytes for ${W}x${H}`,
		});
	}
	if (o === 1) return img;
	const [a, b, d, e] = MAP[o];
	const { width, height } = uprightSize(W, H, o);
	// Source index of upright (ux, uy) = base + ux·dx + uy·dy.
	const dx = d * W + a;
	const dy = e * W + b;
	const base = (d < 0 || e < 0 ? (H - 1) * W : 0) + (a < 0 || b < 0 ? W - 1 : 0);
	// Uint32Array needs 4-byte alignment; a subarray of a larger buffer may not have it.
	const data = img.data.byteOffset % 4 === 0 ? img.data : img.data.slice();
	const src = new Uint32Array(data.buffer, data.byteOffset, W * H);
	const out = new Uint8ClampedArray(W * H * 4);
	const dst = new Uint32Array(out.buffer);
	let k = 0;
	for (let uy = 0; uy < height; uy++) {
		let s = base + uy * dy;
		for (let ux = 0; ux < width; ux++, s += dx) dst[k++] = src[s] as number;
	}
	return { data: out, width, height };
}
