/**
 * Shrink-on-load. For JPEG sources: libjpeg can decode at M/8 of the stored
 * size (M = 1..8) by running a smaller inverse DCT per block, which is much
 * cheaper than a full decode followed by a large reduction (see decodeJpeg).
 * For big lossy WebPs, streamed: libwebp crops and area-averages to any size
 * while it decodes (webpRegion). The decode must keep enough pixels for the
 * filter that follows: the crop window, scaled, stays at least `gap` times
 * the output size on both axes.
 */
import type { Rect } from "../image/orientation";
import type { ImageFormat } from "../image/probe";
import type { WebpRegion } from "../image/webp";
import type { RenderPlan } from "./plan";

/** Full size, in eighths. */
export const FULL_SCALE = 8;

/** One output a decode must serve: a crop window (stored pixels) and its size. */
export interface DecodeNeed {
	readonly crop: Rect;
	readonly width: number;
	readonly height: number;
}

/** What a plan asks of a decode: its crop window, resized to its size. */
export const needOf = (plan: RenderPlan): DecodeNeed => ({
	crop: plan.crop,
	width: plan.resizeWidth,
	height: plan.resizeHeight,
});

/**
 * The smallest decode scale (eighths of the stored size) from which every
 * one of `needs` can be made with its window still ≥ gap × its output size.
 * Formats other than JPEG always decode at full size.
 */
export function decodeScale(
	format: ImageFormat,
	needs: readonly DecodeNeed[],
	gap: number,
): number {
	if (format !== "jpeg" || !(gap >= 1) || needs.length === 0) return FULL_SCALE;
	for (let m = 1; m < FULL_SCALE; m++) {
		const enough = needs.every(
			(n) => (n.crop.w * m) / 8 >= gap * n.width && (n.crop.h * m) / 8 >= gap * n.height,
		);
		if (enough) return m;
	}
	return FULL_SCALE;
}

/**
 * Stored pixels kept around a crop window for the filter's taps: lanczos3
 * reaches 3 × the reduction beyond the window's edge, libwebp's area pixel
 * at most a third of that (the decode keeps ≥ gap 3 × the output).
 */
const tapMargin = (side: number, out: number) => Math.ceil((4 * side) / Math.max(1, out)) + 2;

/**
 * The region a streamed lossy WebP decode makes to serve every one of
 * `needs` (libwebp crops and area-averages while it decodes): the crop
 * windows' union plus the filter's margin (so edge taps read the real
 * neighbours, as from a whole decode), x and y rounded down to even; scaled
 * so that every window stays at least `gap` × its output on each axis
 * (never enlarged).
 */
export function webpRegion(
	stored: { readonly width: number; readonly height: number },
	needs: readonly DecodeNeed[],
	gap: number,
): WebpRegion {
	let [x0, y0, x1, y1] = [stored.width, stored.height, 0, 0];
	for (const { crop, width, height } of needs) {
		x0 = Math.min(x0, Math.floor(crop.x) - tapMargin(crop.w, width));
		y0 = Math.min(y0, Math.floor(crop.y) - tapMargin(crop.h, height));
		x1 = Math.max(x1, Math.ceil(crop.x + crop.w) + tapMargin(crop.w, width));
		y1 = Math.max(y1, Math.ceil(crop.y + crop.h) + tapMargin(crop.h, height));
	}
	const x = Math.max(0, x0) & ~1;
	const y = Math.max(0, y0) & ~1;
	const w = Math.min(stored.width, x1) - x;
	const h = Math.min(stored.height, y1) - y;
	// A window of c stored pixels is c·s/side decoded ones: s ≥ gap·out·side/c for each.
	const scaled = (side: number, ratios: number[]) =>
		gap >= 1 ? Math.min(side, Math.max(1, Math.ceil(side * gap * Math.max(...ratios)))) : side;
	const width = scaled(
		w,
		needs.map((n) => n.width / n.crop.w),
	);
	const height = scaled(
		h,
		needs.map((n) => n.height / n.crop.h),
	);
	return { x, y, w, h, width, height };
}

/** A crop window (stored pixels) in the pixels of a WebP decode of `region`. */
export function regionWindow(region: WebpRegion, crop: Rect): Rect {
	const sx = region.width / region.w;
	const sy = region.height / region.h;
	return {
		x: (crop.x - region.x) * sx,
		y: (crop.y - region.y) * sy,
		w: crop.w * sx,
		h: crop.h * sy,
	};
}
