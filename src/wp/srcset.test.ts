import { describe, expect, it } from "vitest";
import { type Candidate, calculateSizes, calculateSrcset, imageMatchesRatio } from "./srcset";

// Expected values worked out by hand from WordPress's documented rules.
describe("imageMatchesRatio (wp_image_matches_ratio)", () => {
	it.each([
		// 2560x1707 shrunk to 730 wide is 730x486.77 -> 487: same shape.
		[2560, 1707, 730, 487, true],
		[730, 487, 2560, 1707, true],
		[2560, 1707, 1200, 800, true],
		// Off by 2 px in height once shrunk: another crop.
		[2560, 1707, 730, 489, false],
		[2560, 1707, 1200, 628, false],
		[2560, 1707, 150, 150, false],
		// Within 1 px either way still matches (rounding in WordPress's own sizes).
		[768, 1055, 218, 300, true],
		[768, 1055, 600, 824, true],
		[768, 1055, 768, 510, false],
		// Equal widths compare heights directly.
		[600, 400, 600, 401, true],
		[600, 400, 600, 402, false],
	])("%ix%i vs %ix%i → %s", (sw, sh, tw, th, want) => {
		expect(imageMatchesRatio(sw, sh, tw, th)).toBe(want);
	});
});

const c = (name: string, width: number, height: number): Candidate => ({
	url: `https://x.test/u/${name}`,
	width,
	height,
});

describe("calculateSrcset (wp_calculate_image_srcset)", () => {
	// WordPress's own "ratio variance" case: a 768x1055 upload whose 218x300,
	// 600x824 and full size are one shape and 150x150 and 768x510 another.
	const thumb = c("t-150x150.png", 150, 150);
	const medium = c("t-218x300.png", 218, 300);
	const custom = c("t-600x824.png", 600, 824);
	const post = c("t-768x510.png", 768, 510);
	const full = c("t.png", 768, 1055);
	const images = [thumb, medium, custom, post, full];

	it("keeps only candidates of the src's shape, src first", () => {
		expect(calculateSrcset(medium, images)).toBe(
			`${medium.url} 218w, ${custom.url} 600w, ${full.url} 768w`,
		);
		expect(calculateSrcset(full, images)).toBe(
			`${full.url} 768w, ${medium.url} 218w, ${custom.url} 600w`,
		);
	});

	it("prints nothing with fewer than two candidates, or a src that is not an image", () => {
		expect(calculateSrcset(thumb, images)).toBeNull();
		expect(calculateSrcset(post, images)).toBeNull();
		expect(calculateSrcset(c("other.png", 218, 300), images)).toBeNull();
		expect(calculateSrcset({ ...full, width: 0 }, images)).toBeNull();
	});

	it("drops files wider than max_srcset_image_width (2048) unless they are the src", () => {
		const big = c("b-scaled.jpeg", 2560, 1707);
		const small = c("b-730x487.jpeg", 730, 487);
		const list = [small, c("b-2400x1600.jpeg", 2400, 1600), big];
		expect(calculateSrcset(small, list)).toBeNull();
		expect(calculateSrcset(big, list)).toBe(`${big.url} 2560w, ${small.url} 730w`);
		expect(calculateSrcset(small, list, 4000)).toBe(
			`${small.url} 730w, https://x.test/u/b-2400x1600.jpeg 2400w, ${big.url} 2560w`,
		);
	});

	it("keeps one candidate per width (the later file wins its slot)", () => {
		const a = c("a.jpeg", 1000, 500);
		const list = [c("a-600x300.jpeg", 600, 300), c("a-600x301.jpeg", 600, 301), a];
		expect(calculateSrcset(a, list)).toBe(`${a.url} 1000w, https://x.test/u/a-600x301.jpeg 600w`);
	});

	it("encodes spaces in URLs", () => {
		const list = [c("my photo-300x200.jpeg", 300, 200), c("my photo.jpeg", 600, 400)];
		expect(calculateSrcset(list[1] as Candidate, list)).toBe(
			"https://x.test/u/my%20photo.jpeg 600w, https://x.test/u/my%20photo-300x200.jpeg 300w",
		);
	});
});

it.each([
	[730, "(max-width: 730px) 100vw, 730px"],
	[2560, "(max-width: 2560px) 100vw, 2560px"],
])("calculateSizes(%i)", (w, want) => {
	expect(calculateSizes(w)).toBe(want);
});
