/**
 * Shrink before filtering, as libvips does on load: average k×k blocks of the
 * crop window (cheap, integer) so that the windowed filter that follows works
 * on a source only `gap` times or so larger than the output. A lanczos3 pass
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

/**
 * Average k×k blocks of the crop window of `src`. The last column and row of
 * blocks average the pixels they have (the window need not divide by k).
 */
export function boxShrink(src: RGBAImage, crop: Rect, k: number): RGBAImage {
	const ow = Math.ceil(crop.w / k);
	const oh = Math.ceil(crop.h / k);
	const data = src.data;
	const out = new Uint8ClampedArray(ow * oh * 4);
	const sums = new Uint32Array(ow * 4);
	const lastW = crop.w - (ow - 1) * k;
	for (let oy = 0; oy < oh; oy++) {
		sums.fill(0);
		const y0 = crop.y + oy * k;
		const rows = Math.min(k, crop.y + crop.h - y0);
		for (let r = 0; r < rows; r++) {
			let i = ((y0 + r) * src.width + crop.x) * 4;
			let o = 0;
			for (let ox = 0; ox < ow; ox++) {
				const n = ox === ow - 1 ? lastW : k;
				let s0 = 0;
				let s1 = 0;
				let s2 = 0;
				let s3 = 0;
				for (let j = 0; j < n; j++) {
					s0 += data[i] as number;
					s1 += data[i + 1] as number;
					s2 += data[i + 2] as number;
					s3 += data[i + 3] as number;
					i += 4;
				}
				sums[o] = (sums[o] as number) + s0;
				sums[o + 1] = (sums[o + 1] as number) + s1;
				sums[o + 2] = (sums[o + 2] as number) + s2;
				sums[o + 3] = (sums[o + 3] as number) + s3;
				o += 4;
			}
		}
		let o = oy * ow * 4;
		for (let ox = 0; ox < ow; ox++) {
			const count = rows * (ox === ow - 1 ? lastW : k);
			const half = count >> 1;
			for (let c = 0; c < 4; c++) {
				out[o] = Math.floor(((sums[ox * 4 + c] as number) + half) / count);
				o++;
			}
		}
	}
	return { data: out, width: ow, height: oh };
}
