<?php
// npm run bench: one size the way a GD-based WordPress resize makes it, for
// the bench's "GD" columns. Our own script (not WordPress code): read the
// PNG or JPEG, copy the crop window resampled into a truecolor canvas, and
// write it to stdout as that format: PNG with alpha blending off, alpha saved
// and imagepng's default compression; JPEG at quality 82 (WordPress's
// default), baseline.
//
//   php bench/gd-resize.php <source.png|jpg> <x> <y> <w> <h> <width> <height>
if ($argc !== 8 || !function_exists('imagecreatefrompng')) {
	fwrite(STDERR, "usage: php gd-resize.php <source.png|jpg> x y w h width height (needs php-gd)\n");
	exit(2);
}
[$x, $y, $w, $h, $width, $height] = array_map('intval', array_slice($argv, 2));
$jpeg = preg_match('/\.jpe?g$/i', $argv[1]) === 1;
$src = $jpeg ? imagecreatefromjpeg($argv[1]) : imagecreatefrompng($argv[1]);
if ($src === false) {
	fwrite(STDERR, "cannot read {$argv[1]}\n");
	exit(1);
}
$dst = imagecreatetruecolor($width, $height);
if (!$jpeg) {
	imagealphablending($dst, false);
	imagesavealpha($dst, true);
}
imagecopyresampled($dst, $src, 0, 0, $x, $y, $width, $height, $w, $h);
if ($jpeg) {
	imageinterlace($dst, false);
	imagejpeg($dst, null, 82);
} else {
	imagepng($dst);
}
