/**
 * Shrink before filtering, as libvips does: area-average the crop window by
 * about an integer factor k (cheap) so that the windowed filter that follows
 * works on a source only `gap` times or so larger than the output. A lanczos3 pass
 * costs taps ∝ the reduction factor per output pixel, over every source row;
 * after the box step both shrink by k.
 */
import type { Rect, RGBAImage } from "./orientation";

/**
 * The integer block size for reducing `crop` to `outW × outH`, leaving the
 * filter at least `gap`× to reduce (1 = no box step).
 */
export function shrinkFactor(
	crop: Pick<Rect, "w" | "h">,
	outW: number,
	outH: number,
	gap: number,
): number {
	if (!(gap >= 1) || outW <= 0 || outH <= 0) return 1;
	const factor = Math.min(crop.w / outW, crop.h / outH);
	return Math.max(1, Math.floor(factor / gap));
}

/** For each output pixel, the source pixels it covers and their weights (summing to 1). */
function coverage(srcLen: number, outLen: number): { start: Int32Array; weights: Float64Array[] } {
	const scale = srcLen / outLen;
	const start = new Int32Array(outLen);
	const weights: Float64Array[] = [];
	for (let i = 0; i < outLen; i++) {
		const from = i * scale;
		const to = Math.min(srcLen, (i + 1) * scale);
		const first = Math.floor(from);
		const last = Math.min(srcLen - 1, Math.ceil(to) - 1);
		const w = new Float64Array(last - first + 1);
		for (let j = first; j <= last; j++) {
			w[j - first] = (Math.min(to, j + 1) - Math.max(from, j)) / scale;
		}
		start[i] = first;
		weights.push(w);
	}
	return { start, weights };
}

/**
 * Area-average the crop window of `src` down to outW × outH: each output
 * pixel is the mean of exactly the source area it covers (fractional pixels
 * at its edges weighted by coverage), so the geometry is exact and the
 * filter that follows sees the same window, only smaller. Separable: one
 * horizontal pass into a float row buffer, then vertical sums.
 */
export function areaShrink(src: RGBAImage, crop: Rect, outW: number, outH: number): RGBAImage {
	const data = src.data;
	const cols = coverage(crop.w, outW);
	const rows = coverage(crop.h, outH);
	const out = new Uint8ClampedArray(outW * outH * 4);
	// Horizontally shrunk source rows, computed once each (a row feeds at most two output rows).
	const rowCache = new Map<number, Float32Array>();
	const hrow = (y: number): Float32Array => {
		let row = rowCache.get(y);
		if (row) return row;
		row = new Float32Array(outW * 4);
		const base = ((crop.y + y) * src.width + crop.x) * 4;
		for (let x = 0; x < outW; x++) {
			const w = cols.weights[x] as Float64Array;
			let i = base + (cols.start[x] as number) * 4;
			let s0 = 0;
			let s1 = 0;
			let s2 = 0;
			let s3 = 0;
			for (let t = 0; t < w.length; t++) {
				const wt = w[t] as number;
				s0 += (data[i] as number) * wt;
				s1 += (data[i + 1] as number) * wt;
				s2 += (data[i + 2] as number) * wt;
				s3 += (data[i + 3] as number) * wt;
				i += 4;
			}
			row[x * 4] = s0;
			row[x * 4 + 1] = s1;
			row[x * 4 + 2] = s2;
			row[x * 4 + 3] = s3;
		}
		rowCache.set(y, row);
		return row;
	};
	const acc = new Float64Array(outW * 4);
	for (let oy = 0; oy < outH; oy++) {
		acc.fill(0);
		const w = rows.weights[oy] as Float64Array;
		const first = rows.start[oy] as number;
		for (let t = 0; t < w.length; t++) {
			const row = hrow(first + t);
			const wt = w[t] as number;
			for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] as number) + (row[i] as number) * wt;
		}
		// Rows above this output row's first are never needed again.
		for (const y of rowCache.keys()) if (y < first + w.length - 1) rowCache.delete(y);
		out.set(acc, oy * outW * 4); // Uint8ClampedArray rounds half to even and clamps
	}
	return { data: out, width: outW, height: outH };
}
