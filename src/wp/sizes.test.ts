import { describe, expect, it } from "vitest";
import {
	type Crop,
	constrainDimensions,
	DEFAULT_SIZES,
	type OriginalDims,
	parseSizeRegistry,
	phpRound,
	pickSubsize,
	resizeDimensions,
	type SizeRegistry,
	subsizes,
} from "./sizes";

/** The serving path's lookup: pickSubsize over the upload's subsizes(). */
const findSubsize = (
	orig: OriginalDims,
	width: number,
	height: number,
	registry: SizeRegistry,
	tolerancePx = 0,
) => pickSubsize(subsizes(orig, registry), width, height, tolerancePx);

// Every expected value below was worked out by hand from WordPress's rules
// (ratios, PHP round, floor((orig - crop) / 2)), never by calling the module.
// Row format: [name, width, height, srcX, srcY, srcW, srcH].
type Row = [string, number, number, number, number, number, number];

const rows = (w: number, h: number, registry: SizeRegistry = DEFAULT_SIZES): Row[] =>
	subsizes({ width: w, height: h }, registry).map(({ name, plan: p }) => [
		name,
		p.width,
		p.height,
		p.srcX,
		p.srcY,
		p.srcW,
		p.srcH,
	]);

describe("seed site: upload 3264x2176, -scaled 2560x1707", () => {
	it("makes every size, with the crop windows on the 3264x2176 upload", () => {
		expect(rows(3264, 2176)).toEqual([
			// 150/2176 wins; window 2176 square, centred: (3264 - 2176) / 2 = 544.
			["thumbnail", 150, 150, 544, 0, 2176, 2176],
			// 3264x2176 is exactly 3:2: 2176 * 730 / 3264 = 486.67 -> 487.
			["bd", 730, 487, 0, 0, 3264, 2176],
			// 510/3264 = 0.15625 wins; 320 / 0.15625 = 2048; (2176 - 2048) / 2 = 64.
			["sm", 510, 320, 0, 64, 3264, 2048],
			// 420/2176 wins; 600 * 2176 / 420 = 3108.57 -> 3109; floor(155 / 2) = 77.
			["md", 600, 420, 77, 0, 3109, 2176],
			// 800/3264 wins; 340 * 3264 / 800 = 1387.2 -> 1387; floor(789 / 2) = 394.
			["lg", 800, 340, 0, 394, 3264, 1387],
			// 628 * 3264 / 1200 = 1708.16 -> 1708; (2176 - 1708) / 2 = 234.
			["fb", 1200, 628, 0, 234, 3264, 1708],
			// 1200/3264 == 800/2176 (both 25/68): exact fit.
			["post-thumbnail", 1200, 800, 0, 0, 3264, 2176],
		]);
	});

	it("gives the file sizes WordPress listed for the 2560x1707 record", () => {
		const dims = subsizes({ width: 2560, height: 1707 }, DEFAULT_SIZES).map(
			({ name, plan }) => `${name} ${plan.width}x${plan.height}`,
		);
		expect(dims).toEqual([
			"thumbnail 150x150",
			"bd 730x487",
			"sm 510x320",
			"md 600x420",
			"lg 800x340",
			"fb 1200x628",
			"post-thumbnail 1200x800",
		]);
	});

	it("findSubsize finds each listed file and nothing else", () => {
		const orig = { width: 3264, height: 2176 };
		expect(findSubsize(orig, 600, 420, DEFAULT_SIZES)).toEqual({
			name: "md",
			plan: { width: 600, height: 420, srcX: 77, srcY: 0, srcW: 3109, srcH: 2176 },
		});
		expect(findSubsize(orig, 601, 420, DEFAULT_SIZES)).toBeNull();
		expect(findSubsize(orig, 768, 512, DEFAULT_SIZES)).toBeNull();
	});
});

describe("subsizes for other uploads", () => {
	it.each<[string, number, number, Row[]]>([
		[
			"portrait 2056x3088",
			2056,
			3088,
			[
				["thumbnail", 150, 150, 0, 516, 2056, 2056],
				// 487/3088 wins: 2056 * 487 / 3088 = 324.25 -> 324.
				["bd", 324, 487, 0, 0, 2056, 3088],
				["sm", 510, 320, 0, 899, 2056, 1290], // 320 * 2056 / 510 = 1290.04
				["md", 600, 420, 0, 824, 2056, 1439], // 1439.2; floor(1649 / 2)
				["lg", 800, 340, 0, 1107, 2056, 874], // 873.8 -> 874
				["fb", 1200, 628, 0, 1006, 2056, 1076], // 1075.97 -> 1076
				["post-thumbnail", 533, 800, 0, 0, 2056, 3088], // 532.64 -> 533
			],
		],
		[
			"portrait 1704x2560",
			1704,
			2560,
			[
				["thumbnail", 150, 150, 0, 428, 1704, 1704],
				["bd", 324, 487, 0, 0, 1704, 2560], // 324.16
				["sm", 510, 320, 0, 745, 1704, 1069], // 1069.18; floor(1491 / 2)
				["md", 600, 420, 0, 683, 1704, 1193], // 1192.8
				["lg", 800, 340, 0, 918, 1704, 724], // 724.2
				["fb", 1200, 628, 0, 834, 1704, 892], // 891.76
				["post-thumbnail", 533, 800, 0, 0, 1704, 2560], // 1704 * 0.3125 = 532.5 -> 533
			],
		],
		[
			"landscape 2560x1600",
			2560,
			1600,
			[
				["thumbnail", 150, 150, 480, 0, 1600, 1600],
				["bd", 730, 456, 0, 0, 2560, 1600], // 1600 * 730 / 2560 = 456.25
				["sm", 510, 320, 5, 0, 2550, 1600], // 320/1600 = 0.2 wins; 510 / 0.2
				["md", 600, 420, 137, 0, 2286, 1600], // 600 / 0.2625 = 2285.71
				["lg", 800, 340, 0, 256, 2560, 1088], // 340 / 0.3125
				["fb", 1200, 628, 0, 130, 2560, 1340], // 628 / 0.46875 = 1339.73
				["post-thumbnail", 1200, 750, 0, 0, 2560, 1600],
			],
		],
		[
			"1200x750: post-thumbnail would be the original itself",
			1200,
			750,
			[
				["thumbnail", 150, 150, 225, 0, 750, 750],
				["bd", 730, 456, 0, 0, 1200, 750],
				["sm", 510, 320, 2, 0, 1195, 750], // 510 * 750 / 320 = 1195.31; floor(2.5)
				["md", 600, 420, 64, 0, 1071, 750], // 600 / 0.56 = 1071.43
				["lg", 800, 340, 0, 120, 1200, 510],
				// Width equals the original's but the height is 122 px less: made.
				["fb", 1200, 628, 0, 61, 1200, 628],
			],
		],
		[
			"tiny 320x200: only the thumbnail; every other box is larger on both sides",
			320,
			200,
			[["thumbnail", 150, 150, 60, 0, 200, 200]],
		],
		[
			"panorama 6000x1000",
			6000,
			1000,
			[
				["thumbnail", 150, 150, 2500, 0, 1000, 1000],
				["bd", 730, 122, 0, 0, 6000, 1000], // 121.67
				["sm", 510, 320, 2203, 0, 1594, 1000], // 510 / 0.32 = 1593.75
				["md", 600, 420, 2285, 0, 1429, 1000], // 1428.57; floor(4571 / 2)
				["lg", 800, 340, 1823, 0, 2353, 1000], // 2352.94
				["fb", 1200, 628, 2044, 0, 1911, 1000], // 1910.83
				["post-thumbnail", 1200, 200, 0, 0, 6000, 1000],
			],
		],
	])("%s", (_label, w, h, expected) => {
		expect(rows(w, h)).toEqual(expected);
	});

	it("900x1600 EXIF-rotated from stored 1600x900: all sizes, planned upright", () => {
		const orig = { width: 900, height: 1600, storedWidth: 1600, storedHeight: 900 };
		expect(
			subsizes(orig, DEFAULT_SIZES).map(({ name, plan: p }) => [name, p.width, p.height, p.srcY]),
		).toEqual([
			["thumbnail", 150, 150, 350],
			["bd", 274, 487, 0], // 900 * 487 / 1600 = 273.94
			["sm", 510, 320, 517], // window 900x565
			["md", 600, 420, 485], // window 900x630
			["lg", 800, 340, 608], // 340 * 9 / 8 = 382.5 -> 383
			["fb", 900, 628, 486], // narrower than the box: width kept
			["post-thumbnail", 450, 800, 0],
		]);
	});

	it("a size must also pass on the stored (unrotated) dimensions", () => {
		// Upright 500x800: fb 1200x628 crops to 500x628. Stored 800x500 is
		// smaller than 1200x628 on both sides, so the pre-filter drops fb.
		const upright = { width: 500, height: 800 };
		const names = (o: Parameters<typeof subsizes>[0]) =>
			subsizes(o, DEFAULT_SIZES).map((s) => s.name);
		expect(names(upright)).toEqual(["thumbnail", "bd", "sm", "md", "lg", "fb"]);
		expect(names({ ...upright, storedWidth: 800, storedHeight: 500 })).toEqual([
			"thumbnail",
			"bd",
			"sm",
			"md",
			"lg",
		]);
		expect(findSubsize(upright, 500, 628, DEFAULT_SIZES)?.plan).toEqual({
			width: 500,
			height: 628,
			srcX: 0,
			srcY: 86,
			srcW: 500,
			srcH: 628,
		});
		expect(
			findSubsize({ ...upright, storedWidth: 800, storedHeight: 500 }, 500, 628, DEFAULT_SIZES),
		).toBeNull();
	});
});

describe("resizeDimensions", () => {
	it.each<[string, [number, number, number, number, Crop], number[] | null]>([
		// [label, args, [width, height, srcX, srcY, srcW, srcH] | null]
		[
			"crop: one side of the original smaller than the box",
			[600, 300, 400, 400, true],
			[400, 300, 100, 0, 400, 300],
		],
		["fit: one side smaller", [600, 300, 400, 400, false], [400, 200, 0, 0, 600, 300]],
		["crop: both sides smaller -> nothing", [300, 200, 400, 400, true], null],
		["fit: both sides smaller -> nothing", [300, 200, 400, 400, false], null],
		["crop: box equals original -> nothing", [400, 400, 400, 400, true], null],
		["fit: fits already -> nothing", [1200, 750, 1200, 800, false], null],
		["md left/top", [3264, 2176, 600, 420, ["left", "top"]], [600, 420, 0, 0, 3109, 2176]],
		["md right/top", [3264, 2176, 600, 420, ["right", "top"]], [600, 420, 155, 0, 3109, 2176]],
		["lg left/top", [3264, 2176, 800, 340, ["left", "top"]], [800, 340, 0, 0, 3264, 1387]],
		[
			"lg right/bottom",
			[3264, 2176, 800, 340, ["right", "bottom"]],
			[800, 340, 0, 789, 3264, 1387],
		],
		[
			"lg center/center = true",
			[3264, 2176, 800, 340, ["center", "center"]],
			[800, 340, 0, 394, 3264, 1387],
		],
		["fit 0x500: width follows", [3264, 2176, 0, 500, false], [750, 500, 0, 0, 3264, 2176]],
		[
			"fit 1024x0: 2176 * 1024 / 3264 = 682.67",
			[3264, 2176, 1024, 0, false],
			[1024, 683, 0, 0, 3264, 2176],
		],
		["crop 0x500: width from aspect", [3264, 2176, 0, 500, true], [750, 500, 0, 0, 3264, 2176]],
		["fit 4000x0: wider than original", [3264, 2176, 4000, 0, false], null],
		["crop 0x3000: taller than original", [3264, 2176, 0, 3000, true], null],
		["fit 0x2176: same as original", [3264, 2176, 0, 2176, false], null],
		["both box sides 0", [3264, 2176, 0, 0, false], null],
		// wp_fuzzy_number_match: within 1 px on both sides is the original.
		["fuzzy fit 731x488 -> 730x487", [731, 488, 730, 487, false], null],
		["fuzzy crop 151x151 -> 150x150", [151, 151, 150, 150, true], null],
		["fuzzy crop 1201x629 -> 1200x628", [1201, 629, 1200, 628, true], null],
		["2 px off is made", [152, 151, 150, 150, true], [150, 150, 0, 0, 151, 151]],
		// 493 * 730 / 740 = 486.34 -> 486, one short of the box: bumped to 487.
		["1-px-short bump", [740, 493, 730, 487, false], [730, 487, 0, 0, 740, 493]],
		["zero original", [0, 100, 50, 50, false], null],
		["negative original", [-100, 100, 50, 50, true], null],
		["NaN original", [Number.NaN, 100, 50, 50, false], null],
		["infinite original", [Number.POSITIVE_INFINITY, 100, 50, 50, false], null],
		["fractional original", [100.5, 100, 50, 50, false], null],
		["negative box", [100, 100, -50, 50, false], null],
	])("%s", (_label, args, expected) => {
		const plan = resizeDimensions(...args);
		expect(plan && [plan.width, plan.height, plan.srcX, plan.srcY, plan.srcW, plan.srcH]).toEqual(
			expected,
		);
	});
});

describe("constrainDimensions", () => {
	it.each<[number, number, number, number, [number, number]]>([
		[303, 200, 150, 100, [150, 100]], // 200 * 150 / 303 = 99.01 -> 99, bumped to 100
		[465, 700, 177, 177, [118, 177]], // 465 * 177 / 700 = 117.58
		[3264, 2176, 1200, 800, [1200, 800]],
		[3264, 2176, 0, 0, [3264, 2176]], // no bounds
		[100, 50, 300, 300, [100, 50]], // never upscales
		[10000, 10, 100, 0, [100, 1]], // 0.1 px -> at least 1
		[Number.NaN, 10, 100, 100, [0, 0]],
	])("%d x %d in %d x %d", (w, h, mw, mh, expected) => {
		expect(constrainDimensions(w, h, mw, mh)).toEqual(expected);
	});
});

describe("phpRound (PHP 5.3-8.3 round(): 15-digit pre-rounding, half away from zero)", () => {
	it.each<[string, number, number, number]>([
		// [label, input, PHP round(), Math.round()]
		["negative half", -2.5, -3, -2],
		["negative half below 1", -0.5, -1, -0],
		["positive half", 2.5, 3, 3],
		["0.285 * 100 = 28.499999999999996", 0.285 * 100, 29, 28],
		["1.4999999999999998 (largest double below 1.5)", 1.4999999999999998, 2, 1],
		["0.49999999999999994 (php-src GH-12143)", 0.49999999999999994, 1, 0],
		["159 * (150 / 212) = 112.49999999999999", 159 * (150 / 212), 113, 112],
		["clearly below half", 1.4999, 1, 1],
		["zero", 0, 0, 0],
	])("%s", (_label, x, php, js) => {
		expect(phpRound(x)).toBe(php);
		expect(Math.round(x)).toBe(js);
	});

	it("leaves non-finite values alone", () => {
		expect(phpRound(Number.NaN)).toBeNaN();
		expect(phpRound(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
	});

	it("changes real sizes: a 405x810 upload's bd and a 1015x711 upload's md window", () => {
		// 405 * (487 / 810) is 243.49999999999997 in doubles (243.5 exactly).
		expect(constrainDimensions(405, 810, 730, 487)).toEqual([244, 487]);
		// 420 / (600 / 1015) is 710.4999999999999 in doubles (710.5 exactly).
		expect(resizeDimensions(1015, 711, 600, 420, true)).toEqual({
			width: 600,
			height: 420,
			srcX: 0,
			srcY: 0,
			srcW: 1015,
			srcH: 711,
		});
	});
});

describe("findSubsize", () => {
	it("returns the LAST size with the same output size (its file overwrote the earlier one)", () => {
		// On 2560x1700 both give 320x213: b fits 1700 * 0.125 = 212.5 -> 213;
		// a crops a 2554x1700 window (320 * 1700 / 213 = 2553.99) at x = 3.
		const a = { width: 320, height: 213, crop: true } as const;
		const b = { width: 320, height: 0, crop: false } as const;
		const orig = { width: 2560, height: 1700 };
		expect(findSubsize(orig, 320, 213, { a, b })).toEqual({
			name: "b",
			plan: { width: 320, height: 213, srcX: 0, srcY: 0, srcW: 2560, srcH: 1700 },
		});
		expect(findSubsize(orig, 320, 213, { b, a })).toEqual({
			name: "a",
			plan: { width: 320, height: 213, srcX: 3, srcY: 0, srcW: 2554, srcH: 1700 },
		});
	});

	it("uses WordPress's write order: medium, large, thumbnail, medium_large go first", () => {
		// Same 320x213 pair as above; thumbnail is written before b although it is
		// registered after it, so b's file is the one left on disk.
		const b = { width: 320, height: 0, crop: false } as const;
		const thumbnail = { width: 320, height: 213, crop: true } as const;
		expect(findSubsize({ width: 2560, height: 1700 }, 320, 213, { b, thumbnail })?.name).toBe("b");
		expect(findSubsize({ width: 2560, height: 1700 }, 320, 213, { thumbnail, b })?.name).toBe("b");
	});

	it("with tolerance, matches a size computed on the -scaled copy and keeps the requested size", () => {
		// Upload 2562x1922 -> scaled 2560x1920 (1922 * 2560 / 2562 = 1920.4996).
		// WordPress wrote post-thumbnail from the upload: 2562 * 800 / 1922 =
		// 1066.39 -> 1066x800; the scaled copy gives 2560 * 800 / 1920 = 1066.67 -> 1067.
		const scaled = { width: 2560, height: 1920 };
		expect(findSubsize(scaled, 1066, 800, DEFAULT_SIZES)).toBeNull();
		expect(findSubsize(scaled, 1066, 800, DEFAULT_SIZES, 1)).toEqual({
			name: "post-thumbnail",
			plan: { width: 1066, height: 800, srcX: 0, srcY: 0, srcW: 2560, srcH: 1920 },
		});
		expect(findSubsize(scaled, 1069, 800, DEFAULT_SIZES, 1)).toBeNull();
		expect(findSubsize(scaled, 1065, 800, DEFAULT_SIZES, 1)).toBeNull();
	});

	it("prefers an exact match over a tolerant one, whatever the order", () => {
		// exact: 1066x800 crop on 2560x1920, 800/1920 wins, 1066 * 2.4 = 2558.4.
		// loose: 0x800 fit gives 1067x800.
		const registry = {
			exact: { width: 1066, height: 800, crop: true },
			loose: { width: 0, height: 800, crop: false },
		} as const;
		const scaled = { width: 2560, height: 1920 };
		expect(findSubsize(scaled, 1066, 800, registry, 1)).toEqual({
			name: "exact",
			plan: { width: 1066, height: 800, srcX: 1, srcY: 0, srcW: 2558, srcH: 1920 },
		});
		expect(findSubsize(scaled, 1067, 800, registry, 1)?.name).toBe("loose");
	});

	it.each<[string, number, number]>([
		["zero width", 0, 100],
		["NaN height", 3264, Number.NaN],
		["negative width", -3264, 2176],
		["infinite height", 3264, Number.POSITIVE_INFINITY],
	])("an original with %s gives no sizes", (_label, w, h) => {
		expect(subsizes({ width: w, height: h }, DEFAULT_SIZES)).toEqual([]);
		expect(findSubsize({ width: w, height: h }, 150, 150, DEFAULT_SIZES)).toBeNull();
	});

	it("returns null for a nonsense request or bad stored dimensions", () => {
		const orig = { width: 3264, height: 2176 };
		expect(findSubsize(orig, Number.NaN, 420, DEFAULT_SIZES)).toBeNull();
		expect(findSubsize(orig, 600, -420, DEFAULT_SIZES, 1)).toBeNull();
		expect(
			findSubsize({ ...orig, storedWidth: 0, storedHeight: 2176 }, 600, 420, DEFAULT_SIZES),
		).toBeNull();
	});
});

describe("parseSizeRegistry", () => {
	it("accepts what wp_get_registered_image_subsizes() prints, keeping order", () => {
		const json = JSON.stringify(DEFAULT_SIZES);
		const parsed = parseSizeRegistry(JSON.parse(json));
		expect(parsed).toEqual(DEFAULT_SIZES);
		expect(Object.keys(parsed)).toEqual([
			"thumbnail",
			"bd",
			"sm",
			"md",
			"lg",
			"fb",
			"post-thumbnail",
		]);
	});

	it("accepts numeric strings, 0/1 crops, crop arrays and a 0 side", () => {
		const parsed = parseSizeRegistry(
			JSON.parse(
				'{"medium":{"width":"300","height":"300","crop":0},"thumb":{"width":150,"height":150,"crop":1},' +
					'"hero":{"width":1600,"height":0,"crop":false},"card":{"width":400,"height":300,"crop":["left","top"]}}',
			),
		);
		expect(parsed).toEqual({
			medium: { width: 300, height: 300, crop: false },
			thumb: { width: 150, height: 150, crop: true },
			hero: { width: 1600, height: 0, crop: false },
			card: { width: 400, height: 300, crop: ["left", "top"] },
		});
	});

	it("keeps a size named __proto__ as a plain key", () => {
		const parsed = parseSizeRegistry(
			JSON.parse('{"__proto__":{"width":10,"height":10,"crop":true}}'),
		);
		expect(Object.keys(parsed)).toEqual(["__proto__"]);
		expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
	});

	const many = Object.fromEntries(
		Array.from({ length: 65 }, (_, i) => [`s${i}`, { width: 10, height: 10, crop: false }]),
	);
	it.each<[string, unknown, RegExp]>([
		["null", null, /JSON object/],
		["array", [], /JSON object/],
		["string", "thumbnail", /JSON object/],
		["more than 64 sizes", many, /Too many image sizes: 65/],
		["bad name", { "bad name": { width: 1, height: 1, crop: false } }, /"bad name"/],
		["name too long", { ["x".repeat(65)]: { width: 1, height: 1, crop: false } }, /x{65}/],
		["size not an object", { thumbnail: 150 }, /"thumbnail": must be an object/],
		["negative width", { thumbnail: { width: -1, height: 150, crop: true } }, /"thumbnail": width/],
		[
			"fractional height",
			{ thumbnail: { width: 150, height: 150.5, crop: true } },
			/"thumbnail": height/,
		],
		[
			"non-numeric string",
			{ thumbnail: { width: "15a", height: 150, crop: true } },
			/"thumbnail": width/,
		],
		["side over 10000", { big: { width: 10001, height: 150, crop: false } }, /"big": width/],
		["missing height", { thumbnail: { width: 150, crop: true } }, /"thumbnail": height/],
		["both sides 0", { none: { width: 0, height: 0, crop: false } }, /"none": width and height/],
		["crop word", { thumbnail: { width: 150, height: 150, crop: "yes" } }, /"thumbnail": crop/],
		["crop 2", { thumbnail: { width: 150, height: 150, crop: 2 } }, /"thumbnail": crop/],
		[
			"crop unknown position",
			{ card: { width: 1, height: 1, crop: ["middle", "top"] } },
			/"card": crop/,
		],
		["crop axes swapped", { card: { width: 1, height: 1, crop: ["top", "left"] } }, /"card": crop/],
		["missing crop", { card: { width: 1, height: 1 } }, /"card": crop/],
	])("rejects %s", (_label, input, message) => {
		expect(() => parseSizeRegistry(input)).toThrow(message);
	});
});
