/**
 * WordPress's responsive-image attributes for one attachment. A clean-room
 * port of the behaviour of wp_image_matches_ratio(), wp_calculate_image_srcset()
 * and wp_calculate_image_sizes() (wp-includes/media.php), as documented on
 * developer.wordpress.org. Pure: no I/O.
 */
import { constrainDimensions, near } from "./sizes";

/** Default of WordPress's `max_srcset_image_width` filter. */
export const MAX_SRCSET_IMAGE_WIDTH = 2048;

export interface Candidate {
	readonly url: string;
	readonly width: number;
	readonly height: number;
}

/**
 * wp_image_matches_ratio(): shrink the wider image to the narrower one's
 * width and compare both sides within 1 px, so crops of another shape never
 * pass while rounding differences do.
 */
export function imageMatchesRatio(
	sourceWidth: number,
	sourceHeight: number,
	targetWidth: number,
	targetHeight: number,
): boolean {
	const [constrained, expected] =
		sourceWidth > targetWidth
			? [
					constrainDimensions(sourceWidth, sourceHeight, targetWidth, 0),
					[targetWidth, targetHeight],
				]
			: [
					constrainDimensions(targetWidth, targetHeight, sourceWidth, 0),
					[sourceWidth, sourceHeight],
				];
	return near(constrained[0], expected[0] ?? 0) && near(constrained[1], expected[1] ?? 0);
}

/**
 * The `srcset` WordPress prints for an `<img>` showing `src` (one of
 * `images`, which are the attachment's sizes in metadata order followed by
 * the full image). Candidates have the src's aspect ratio within 1 px and are
 * at most `maxWidth` wide, except the src itself; one candidate per width,
 * the src's first. null where WordPress prints no srcset: the src is not one
 * of the images, or fewer than two candidates are left.
 */
export function calculateSrcset(
	src: Candidate,
	images: readonly Candidate[],
	maxWidth = MAX_SRCSET_IMAGE_WIDTH,
): string | null {
	if (!(src.width >= 1)) return null;
	let sources = new Map<number, string>();
	let srcMatched = false;
	for (const image of images) {
		let isSrc = false;
		if (!srcMatched && image.url === src.url) {
			srcMatched = true;
			isSrc = true;
		}
		if (image.width > maxWidth && !isSrc) continue;
		if (!imageMatchesRatio(src.width, src.height, image.width, image.height)) continue;
		if (isSrc) {
			// The src goes first and keeps its slot against later equal widths' order.
			const rest = [...sources].filter(([w]) => w !== image.width);
			sources = new Map([[image.width, image.url], ...rest]);
		} else {
			sources.set(image.width, image.url);
		}
	}
	if (!srcMatched || sources.size < 2) return null;
	return [...sources].map(([w, url]) => `${url.replaceAll(" ", "%20")} ${w}w`).join(", ");
}

/** wp_calculate_image_sizes(): full width up to the image's own width. */
export function calculateSizes(width: number): string {
	return `(max-width: ${width}px) 100vw, ${width}px`;
}
