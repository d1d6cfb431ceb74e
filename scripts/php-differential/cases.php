<?php
// Independent statement of the documented rules, evaluated with PHP's own float and round().
function constrain($cw, $ch, $mw, $mh) {
  if (!$mw && !$mh) return [$cw, $ch];
  $wr = 1.0; $hr = 1.0; $dw = false; $dh = false;
  if ($mw > 0 && $cw > 0 && $cw > $mw) { $wr = $mw / $cw; $dw = true; }
  if ($mh > 0 && $ch > 0 && $ch > $mh) { $hr = $mh / $ch; $dh = true; }
  $small = min($wr, $hr); $large = max($wr, $hr);
  $r = ((int) round($cw * $large) > $mw || (int) round($ch * $large) > $mh) ? $small : $large;
  $w = max(1, (int) round($cw * $r)); $h = max(1, (int) round($ch * $r));
  if ($dw && $w === $mw - 1) $w = $mw;
  if ($dh && $h === $mh - 1) $h = $mh;
  return [$w, $h];
}
function dims($ow, $oh, $dw, $dh, $crop) {
  if ($crop) {
    $ar = $ow / $oh; $nw = min($dw, $ow); $nh = min($dh, $oh);
    if (!$nw) $nw = (int) round($nh * $ar);
    if (!$nh) $nh = (int) round($nw / $ar);
    $sr = max($nw / $ow, $nh / $oh);
    $cw = round($nw / $sr); $ch = round($nh / $sr);
    $sx = floor(($ow - $cw) / 2); $sy = floor(($oh - $ch) / 2);
  } else {
    $cw = $ow; $ch = $oh; $sx = 0; $sy = 0;
    [$nw, $nh] = constrain($ow, $oh, $dw, $dh);
  }
  if (abs($nw - $ow) <= 1 && abs($nh - $oh) <= 1) return null;
  return [(int)$nw, (int)$nh, (int)$sx, (int)$sy, (int)$cw, (int)$ch];
}
mt_srand(7);
$out = [];
for ($i = 0; $i < 100000; $i++) {
  $ow = mt_rand(1, 7000); $oh = mt_rand(1, 7000);
  if ($i % 3 == 0) { $oh = mt_rand(max(1,(int)($ow*0.5)), (int)($ow*0.8)+1); }
  $dw = mt_rand(0, 5) == 0 ? 0 : mt_rand(1, 2600); $dh = mt_rand(0, 5) == 0 ? 0 : mt_rand(1, 2600);
  if ($dw == 0 && $dh == 0) $dw = 300;
  $crop = mt_rand(0, 1) == 1;
  // WordPress makes nothing when the original is smaller than the box on every bounded side.
  if (($dh == 0 ? $ow < $dw : ($dw == 0 ? $oh < $dh : ($ow < $dw && $oh < $dh)))) $r = null;
  else $r = dims($ow, $oh, $dw, $dh, $crop);
  $out[] = json_encode([$ow, $oh, $dw, $dh, $crop, $r]);
}
file_put_contents(getenv("OUT") ?: "/tmp/cases.txt", implode("\n", $out));
