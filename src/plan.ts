/**
 * From a requested size to a render plan: is this a file WordPress would have
 * made for the upload, and which pixels of the source does it come from?
 */
import type { Limits } from "./config";
import { LimitExceededError, NotFoundError } from "./errors";
import { type Rect, rectToStored } from "./image/orientation";
import type { Orientation } from "./image/probe";
import type { UploadMeta } from "./originals";
import { findSubsize, type NamedPlan, type SizeRegistry } from "./wp/sizes";

export interface RenderPlan {
	readonly sizeName: string;
	/** Final output size, as in the file name. */
	readonly width: number;
	readonly height: number;
	/** Crop window in the source's stored pixels. */
	readonly crop: Rect;
	/** Resize target before orientation (swapped when the source is rotated 90°). */
	readonly resizeWidth: number;
	readonly resizeHeight: number;
	/** EXIF orientation still to apply to the resized pixels. */
	readonly orientation: Orientation;
}

/** The registered size WordPress would have made at exactly width × height. */
export function matchSize(
	meta: UploadMeta,
	width: number,
	height: number,
	sizes: SizeRegistry,
): NamedPlan {
	const found = findSubsize(
		{
			width: meta.width,
			height: meta.height,
			storedWidth: meta.storedWidth,
			storedHeight: meta.storedHeight,
		},
		width,
		height,
		sizes,
		meta.exact ? 0 : 1,
	);
	if (!found) throw new NotFoundError("No such size for this image");
	return found;
}

function clampSpan(start: number, end: number, max: number): [number, number] {
	const a = Math.min(Math.max(0, start), max - 1);
	const b = Math.min(Math.max(a + 1, end), max);
	return [a, b];
}

/**
 * Map the crop window WordPress computed on the upload onto the source's
 * pixels. A `-scaled`/`-rotated` copy is upright and proportionally smaller;
 * the upload itself may still need its EXIF orientation applied.
 */
export function planRender(meta: UploadMeta, size: NamedPlan, limits: Limits): RenderPlan {
	const { plan } = size;
	if (plan.width > limits.maxOutputSide || plan.height > limits.maxOutputSide) {
		throw new LimitExceededError(
			"MAX_OUTPUT_SIDE",
			`Output ${plan.width}x${plan.height} is too large`,
		);
	}
	const { source } = meta;
	const upright: Rect = { x: plan.srcX, y: plan.srcY, w: plan.srcW, h: plan.srcH };
	if (source.kind === "upload") {
		const o = source.info.orientation;
		const swap = o >= 5;
		return {
			sizeName: size.name,
			width: plan.width,
			height: plan.height,
			crop: rectToStored(upright, o, source.info.width, source.info.height),
			resizeWidth: swap ? plan.height : plan.width,
			resizeHeight: swap ? plan.width : plan.height,
			orientation: o,
		};
	}
	const sx = source.info.width / meta.width;
	const sy = source.info.height / meta.height;
	const [x0, x1] = clampSpan(
		Math.round(upright.x * sx),
		Math.round((upright.x + upright.w) * sx),
		source.info.width,
	);
	const [y0, y1] = clampSpan(
		Math.round(upright.y * sy),
		Math.round((upright.y + upright.h) * sy),
		source.info.height,
	);
	return {
		sizeName: size.name,
		width: plan.width,
		height: plan.height,
		crop: { x: x0, y: y0, w: x1 - x0, h: y1 - y0 },
		resizeWidth: plan.width,
		resizeHeight: plan.height,
		orientation: 1,
	};
}
