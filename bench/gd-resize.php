<?php
// npm run bench: one PNG size the way a GD-based WordPress resize makes it,
// for the bench's "GD" byte column. Our own script (not WordPress code):
// read the PNG, copy the crop window resampled into a truecolor canvas with
// alpha blending off and alpha saved, write it with imagepng's default
// compression to stdout.
//
//   php bench/gd-resize.php <source.png> <x> <y> <w> <h> <width> <height>
if ($argc !== 8 || !function_exists('imagecreatefrompng')) {
	fwrite(STDERR, "usage: php gd-resize.php <source.png> x y w h width height (needs php-gd)\n");
	exit(2);
}
[$x, $y, $w, $h, $width, $height] = array_map('intval', array_slice($argv, 2));
$src = imagecreatefrompng($argv[1]);
if ($src === false) {
	fwrite(STDERR, "cannot read {$argv[1]}\n");
	exit(1);
}
$dst = imagecreatetruecolor($width, $height);
imagealphablending($dst, false);
imagesavealpha($dst, true);
imagecopyresampled($dst, $src, 0, 0, $x, $y, $width, $height, $w, $h);
imagepng($dst);
