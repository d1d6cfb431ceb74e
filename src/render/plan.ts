/**
 * From a requested size to a render plan: is this a file WordPress would have
 * made for the upload, and which pixels of the source does it come from?
 */
import type { Limits } from "../config";
import { NotFoundError } from "../http/errors";
import { type Rect, rectToStored } from "../image/orientation";
import type { Orientation } from "../image/probe";
import type { UploadMeta } from "../origin/lookup";
import { derivativeKey, splitUploadKey } from "../url/path";
import { type NamedPlan, pickSubsize, type SizeRegistry, subsizes } from "../wp/sizes";
import { assertSourceWithinLimits, fitsOutput } from "./limits";

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

/** One file WordPress makes for an upload. */
export interface UploadSize extends NamedPlan {
	/** The file's key, e.g. `2025/09/photo-150x150.jpeg` (served under the mount). */
	readonly key: string;
}

/**
 * Every file WordPress makes for this upload with these registered sizes, in
 * registry order (two names may share one file). The ONE list both the size
 * table and the serving path (matchSize) are computed from, so the table can
 * never name a file that is not served, nor leave out one that is.
 */
export function uploadSizes(meta: UploadMeta, sizes: SizeRegistry): UploadSize[] {
	const { dir, name } = splitUploadKey(meta.uploadKey);
	const made = subsizes(
		{
			width: meta.width,
			height: meta.height,
			storedWidth: meta.storedWidth,
			storedHeight: meta.storedHeight,
		},
		sizes,
	);
	return made.map((size) => ({
		...size,
		key: derivativeKey({ dir, name, ext: meta.sizesExt }, size.plan.width, size.plan.height),
	}));
}

/** A file WordPress makes for the upload that the worker serves, with its render plan. */
export interface ServableSize extends UploadSize {
	readonly render: RenderPlan;
}

/**
 * Every file WordPress makes for this upload that the worker will serve, in
 * registry order (two names may share one file): the source limits are
 * checked once (a failure fails them all, with the error serving would give),
 * and a size over MAX_OUTPUT_SIDE is left out.
 */
export function servableSizes(
	meta: UploadMeta,
	config: { readonly sizes: SizeRegistry; readonly limits: Limits },
): ServableSize[] {
	assertSourceWithinLimits(meta, config.limits);
	return uploadSizes(meta, config.sizes)
		.filter((size) => fitsOutput(size.plan, config.limits))
		.map((size) => ({ ...size, render: planRender(meta, size) }));
}

/** The servable sizes' files: each once, under the first size that names it. */
export function servableFiles(
	meta: UploadMeta,
	config: { readonly sizes: SizeRegistry; readonly limits: Limits },
): ServableSize[] {
	const byKey = new Map<string, ServableSize>();
	for (const size of servableSizes(meta, config)) {
		if (!byKey.has(size.key)) byKey.set(size.key, size);
	}
	return [...byKey.values()];
}

/** Name of the plan made for a signed, unregistered size. */
export const SIGNED_SIZE = "signed";

/**
 * The registered size WordPress would have made at exactly width × height.
 * With `anySize` (a validly signed URL) a size nobody registered is also
 * made, as WordPress would make a hard-cropped size of exactly width × height
 * (`add_image_size(name, w, h, true)`): centre crop, never upscaled, so it
 * exists only when the upload is at least that large. A registered size
 * always wins, so a signature never changes the bytes of a registered name.
 */
export function matchSize(
	meta: UploadMeta,
	width: number,
	height: number,
	sizes: SizeRegistry,
	anySize = false,
): NamedPlan {
	// Without the upload itself its size is known only to ±1 px (from a copy).
	const tolerance = meta.exact ? 0 : 1;
	const found =
		pickSubsize(uploadSizes(meta, sizes), width, height, tolerance) ??
		(anySize
			? pickSubsize(
					uploadSizes(meta, { [SIGNED_SIZE]: { width, height, crop: true } }),
					width,
					height,
					tolerance,
				)
			: null);
	if (!found) throw new NotFoundError("No such size for this image");
	return { name: found.name, plan: found.plan };
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
export function planRender(meta: UploadMeta, size: NamedPlan): RenderPlan {
	const { plan } = size;
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
