/**
 * Shrink-on-load for JPEG sources: libjpeg can decode at M/8 of the stored
 * size (M = 1..8) by running a smaller inverse DCT per block, which is much
 * cheaper than a full decode followed by a large reduction (see decodeJpeg).
 * The decode must keep enough pixels for the filter that follows: the crop
 * window, scaled, stays at least `gap` times the output size on both axes.
 */
import type { Rect } from "../image/orientation";
import type { ImageFormat } from "../image/probe";

/** Full size, in eighths. */
export const FULL_SCALE = 8;

/** One output a decode must serve: a crop window (stored pixels) and its size. */
export interface ScaleNeed {
	readonly crop: Pick<Rect, "w" | "h">;
	readonly width: number;
	readonly height: number;
}

/**
 * The smallest decode scale (eighths of the stored size) from which every
 * one of `needs` can be made with its window still ≥ gap × its output size.
 * Formats other than JPEG always decode at full size.
 */
export function decodeScale(format: ImageFormat, needs: readonly ScaleNeed[], gap: number): number {
	if (format !== "jpeg" || !(gap >= 1) || needs.length === 0) return FULL_SCALE;
	for (let m = 1; m < FULL_SCALE; m++) {
		const enough = needs.every(
			(n) => (n.crop.w * m) / 8 >= gap * n.width && (n.crop.h * m) / 8 >= gap * n.height,
		);
		if (enough) return m;
	}
	return FULL_SCALE;
}
