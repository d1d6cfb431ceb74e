/**
 * Every PNG the worker is seeded with, and one of each remaining kind
 * (ImageMagick): what our PNG decoder is checked (png-decode.test.ts) and
 * timed (bench/png-decode.test.ts) on.
 */
export const PNG_FIXTURES = [
	"originals/2025/09/dashboard-screenshot.png",
	"originals/2025/09/goldfish.png",
	"originals/2025/09/logo-palette.png",
	"originals/2025/09/chart-gray.png",
	"originals/2025/09/glow-16bit.png",
	"originals/2025/09/badge-interlaced.png",
	"originals/2025/09/spinner-apng.png",
	"png-kinds/grey-1bit.png",
	"png-kinds/grey-2bit.png",
	"png-kinds/grey-4bit.png",
	"png-kinds/grey-16bit.png",
	"png-kinds/grey-alpha-16bit.png",
	"png-kinds/rgb-16bit-trns.png",
	"png-kinds/palette-2colours.png",
	"png-kinds/palette-4colours.png",
	"png-kinds/palette-13colours.png",
	"png-kinds/palette-interlaced.png",
	"png-kinds/rgba-16bit-interlaced.png",
];
