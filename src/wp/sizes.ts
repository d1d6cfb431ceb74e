/**
 * Which image sub-sizes WordPress makes for an upload, and from which pixels.
 *
 * A clean-room port of the behaviour of image_resize_dimensions(),
 * wp_constrain_dimensions() and wp_fuzzy_number_match() (wp-includes/media.php)
 * and of the size filtering in wp_get_missing_image_subsizes()
 * (wp-admin/includes/image.php). Pure: no I/O.
 */

export type CropX = "left" | "center" | "right";
export type CropY = "top" | "center" | "bottom";
export type Crop = boolean | readonly [CropX, CropY];
export interface SizeSpec {
	readonly width: number;
	readonly height: number;
	readonly crop: Crop;
}
/** Ordered as WordPress registers them (object insertion order). */
export type SizeRegistry = Readonly<Record<string, SizeSpec>>;
/** Output size plus the crop window in the ORIGINAL's pixel coordinates (integers). */
export interface ResizePlan {
	readonly width: number;
	readonly height: number;
	readonly srcX: number;
	readonly srcY: number;
	readonly srcW: number;
	readonly srcH: number;
}
export interface NamedPlan {
	readonly name: string;
	readonly plan: ResizePlan;
}
export interface OriginalDims {
	readonly width: number;
	readonly height: number;
	/** dimensions as stored, before EXIF rotation, when they differ */
	readonly storedWidth?: number;
	readonly storedHeight?: number;
}

const size = (width: number, height: number, crop: Crop): SizeSpec =>
	Object.freeze({ width, height, crop });

export const DEFAULT_SIZES: SizeRegistry = Object.freeze({
	thumbnail: size(150, 150, true),
	bd: size(730, 487, false),
	sm: size(510, 320, true),
	md: size(600, 420, true),
	lg: size(800, 340, true),
	fb: size(1200, 628, true),
	"post-thumbnail": size(1200, 800, false),
});

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14];

// php_round_helper(): half away from zero, done as floor(v + 0.5) like PHP,
// so 0.49999999999999994 rounds to 1 there (the sum rounds up to 1.0).
const halfUp = (v: number): number => (v >= 0 ? Math.floor(v + 0.5) : Math.ceil(v - 0.5));

/**
 * PHP's round($x) as PHP 5.3–8.3 do it: values in [1, 1e14) are first rounded
 * to 15 significant digits, so 28.499999999999996 (0.285 * 100) becomes 28.5
 * and then 29. WordPress computes every sub-size side with it, and
 * Math.round differs on negative halves and on these near-halves.
 * PHP 8.4 dropped the pre-rounding (php-src GH-12143); sites on 8.4+ can
 * differ by a pixel only in those near-half cases.
 */
export function phpRound(x: number): number {
	if (!Number.isFinite(x) || x === 0) return x;
	const digits = 14 - Math.floor(Math.log10(Math.abs(x)));
	if (digits > 0 && digits < 15) {
		const f = POW10[digits] ?? 10 ** digits;
		return halfUp(halfUp(x * f) / f);
	}
	return Math.abs(x) >= 1e15 ? x : halfUp(x);
}

const isDim = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

/**
 * wp_constrain_dimensions(): fit cur inside max keeping the aspect ratio;
 * a max of 0 leaves that side unbounded. Never upscales. Non-finite input
 * gives [0, 0].
 */
export function constrainDimensions(
	curW: number,
	curH: number,
	maxW: number,
	maxH: number,
): [number, number] {
	if (![curW, curH, maxW, maxH].every(Number.isFinite)) return [0, 0];
	if (!maxW && !maxH) return [curW, curH];
	const didW = maxW > 0 && curW > 0 && curW > maxW;
	const didH = maxH > 0 && curH > 0 && curH > maxH;
	const rw = didW ? maxW / curW : 1;
	const rh = didH ? maxH / curH : 1;
	const larger = Math.max(rw, rh);
	// The larger ratio is the snugger fit, unless it spills over the box.
	const overflows = phpRound(curW * larger) > maxW || phpRound(curH * larger) > maxH;
	const ratio = overflows ? Math.min(rw, rh) : larger;
	let w = Math.max(1, Math.trunc(phpRound(curW * ratio)));
	let h = Math.max(1, Math.trunc(phpRound(curH * ratio)));
	// Rounding can land one pixel shy of the box on a constrained side; WordPress
	// bumps it so that constraining a constrained result is stable.
	if (didW && w === maxW - 1) w = maxW;
	if (didH && h === maxH - 1) h = maxH;
	return [w, h];
}

// wp_fuzzy_number_match() with its default precision of 1 px.
export const near = (a: number, b: number): boolean => Math.abs(a - b) <= 1;

/**
 * image_resize_dimensions(): output size and source window for one size, or
 * null where WordPress returns false (the size is then not made at all).
 */
export function resizeDimensions(
	origW: number,
	origH: number,
	destW: number,
	destH: number,
	crop: Crop,
): ResizePlan | null {
	if (!isDim(origW) || !isDim(origH) || origW === 0 || origH === 0) return null;
	if (!isDim(destW) || !isDim(destH) || (destW === 0 && destH === 0)) return null;
	// WordPress only refuses to upscale when the original is smaller than the
	// box on every bounded side; smaller on one side alone still gets a size.
	if (destH === 0 ? origW < destW : destW === 0 ? origH < destH : origW < destW && origH < destH) {
		return null;
	}
	let w: number;
	let h: number;
	let srcX = 0;
	let srcY = 0;
	let srcW = origW;
	let srcH = origH;
	if (crop) {
		// The box clipped to the original; a 0 side follows the original's aspect.
		const aspect = origW / origH;
		w = Math.min(destW, origW);
		h = Math.min(destH, origH);
		if (!w) w = Math.trunc(phpRound(h * aspect));
		if (!h) h = Math.trunc(phpRound(w / aspect));
		// Largest window of the target's shape that fits in the original.
		const scale = Math.max(w / origW, h / origH);
		srcW = phpRound(w / scale);
		srcH = phpRound(h / scale);
		const [x, y] = crop === true ? ["center", "center"] : crop;
		srcX = x === "left" ? 0 : x === "right" ? origW - srcW : Math.floor((origW - srcW) / 2);
		srcY = y === "top" ? 0 : y === "bottom" ? origH - srcH : Math.floor((origH - srcH) / 2);
	} else {
		[w, h] = constrainDimensions(origW, origH, destW, destH);
	}
	// Within a pixel of the original on both sides: WordPress skips it as a
	// copy of the original (filter wp_image_resize_identical_dimensions).
	if (near(w, origW) && near(h, origH)) return null;
	return { width: w, height: h, srcX, srcY, srcW, srcH };
}

const dimsOk = (w: number | undefined, h: number | undefined): boolean =>
	w !== undefined && h !== undefined && isDim(w) && isDim(h) && w > 0 && h > 0;

/** Every sub-size WordPress would make for this upload, in registry order. */
export function subsizes(orig: OriginalDims, registry: SizeRegistry): NamedPlan[] {
	if (!dimsOk(orig.width, orig.height)) return [];
	const { storedWidth: sw, storedHeight: sh } = orig;
	const checkStored = sw !== undefined || sh !== undefined;
	if (checkStored && !dimsOk(sw, sh)) return [];
	const out: NamedPlan[] = [];
	for (const [name, spec] of Object.entries(registry)) {
		// wp_get_missing_image_subsizes() pre-filters sizes on wp_getimagesize() of
		// the original file (no EXIF rotation), while the editor then makes them
		// from the EXIF-rotated pixels: a size must pass both. Omit the stored dims
		// to model wp_create_image_subsizes() at upload, which has no pre-filter.
		if (checkStored && !resizeDimensions(sw ?? 0, sh ?? 0, spec.width, spec.height, spec.crop)) {
			continue;
		}
		const plan = resizeDimensions(orig.width, orig.height, spec.width, spec.height, spec.crop);
		if (plan) out.push({ name, plan });
	}
	return out;
}

// _wp_make_subsizes() writes these core sizes first (when registered), then
// the rest in registry order.
const WRITTEN_FIRST = ["medium", "large", "thumbnail", "medium_large"];

/**
 * The size WordPress would have written as a width × height file for this
 * upload, picked from `made` (its subsizes(): the size table lists the same
 * list, so serving and the table cannot disagree). Sizes with the same result share one file name, and the one written
 * last overwrote the others: so the LAST match in write order wins.
 * tolerancePx > 0 (when only a -scaled copy's dimensions are known) accepts a
 * size within that many pixels per side and answers with the requested size;
 * an exact match always beats a tolerant one, then the closest, then the last.
 */
export function pickSubsize<T extends NamedPlan>(
	made: readonly T[],
	width: number,
	height: number,
	tolerancePx = 0,
): T | null {
	if (!dimsOk(width, height)) return null;
	const tol = Number.isFinite(tolerancePx) && tolerancePx > 0 ? tolerancePx : 0;
	let best: T | null = null;
	let bestDist = Number.POSITIVE_INFINITY;
	const first = WRITTEN_FIRST.flatMap((n) => made.filter((s) => s.name === n));
	for (const found of [...first, ...made.filter((s) => !WRITTEN_FIRST.includes(s.name))]) {
		const dist = Math.max(Math.abs(found.plan.width - width), Math.abs(found.plan.height - height));
		if (dist <= tol && dist <= bestDist) {
			best = found;
			bestDist = dist;
		}
	}
	if (!best || bestDist === 0) return best;
	return { ...best, plan: { ...best.plan, width, height } };
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_SIZES = 64;
const MAX_SIDE = 10000;
const CROP_X: readonly string[] = ["left", "center", "right"];
const CROP_Y: readonly string[] = ["top", "center", "bottom"];

function side(name: string, field: string, v: unknown): number {
	// WordPress prints ints, but values read back from options can be strings.
	const n = typeof v === "string" && /^\d{1,6}$/.test(v) ? Number(v) : v;
	if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0 || n > MAX_SIDE) {
		throw new Error(
			`Image size "${name}": ${field} must be an integer 0..${MAX_SIDE}, got ${JSON.stringify(v)}`,
		);
	}
	return n;
}

function cropOf(name: string, v: unknown): Crop {
	if (typeof v === "boolean") return v;
	if (v === 0 || v === 1) return v === 1;
	if (Array.isArray(v) && v.length === 2 && CROP_X.includes(v[0]) && CROP_Y.includes(v[1])) {
		return Object.freeze([v[0], v[1]]) as readonly [CropX, CropY];
	}
	throw new Error(
		`Image size "${name}": crop must be true, false or [left|center|right, top|center|bottom], got ${JSON.stringify(v)}`,
	);
}

/**
 * Validate the JSON printed by wp_get_registered_image_subsizes(), e.g.
 * {"thumbnail":{"width":150,"height":150,"crop":true}}. Throws an Error naming
 * the offending size and field. Note: JS orders integer-like keys ("300")
 * first, unlike PHP, so such names lose their registration position.
 */
export function parseSizeRegistry(input: unknown): SizeRegistry {
	if (typeof input !== "object" || input === null || Array.isArray(input)) {
		throw new Error("Image sizes must be a JSON object of size name to {width, height, crop}");
	}
	const entries = Object.entries(input);
	if (entries.length > MAX_SIZES) {
		throw new Error(`Too many image sizes: ${entries.length} (at most ${MAX_SIZES})`);
	}
	const out: [string, SizeSpec][] = [];
	for (const [name, raw] of entries) {
		if (!NAME.test(name)) throw new Error(`Image size name ${JSON.stringify(name)} is not valid`);
		if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
			throw new Error(`Image size "${name}": must be an object {width, height, crop}`);
		}
		const spec = raw as Record<string, unknown>;
		const width = side(name, "width", spec.width);
		const height = side(name, "height", spec.height);
		// WordPress drops a size with both sides 0: it could never be made.
		if (width === 0 && height === 0) {
			throw new Error(`Image size "${name}": width and height cannot both be 0`);
		}
		out.push([name, size(width, height, cropOf(name, spec.crop))]);
	}
	// fromEntries defines own properties, so even "__proto__" stays a plain key.
	return Object.freeze(Object.fromEntries(out));
}
