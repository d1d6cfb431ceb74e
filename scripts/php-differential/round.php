<?php
mt_srand(42);
$out = [];
for ($i = 0; $i < 200000; $i++) {
  $a = mt_rand(1, 9000); $b = mt_rand(1, 9000); $c = mt_rand(1, 9000);
  $k = $i % 4;
  if ($k == 0) $v = $a * ($b / $c);
  elseif ($k == 1) $v = $a / ($b / $c);
  elseif ($k == 2) $v = ($a + 0.5) ;
  else $v = $a * $b / $c / 7.0;
  $out[] = sprintf("%.17g %d", $v, (int) round($v));
}
file_put_contents(getenv("OUT") ?: "/tmp/round.txt", implode("\n", $out));
