<?php
/**
 * Test site only: while the option `edge_test_webp_output` is true, JPEG
 * output is written as WebP (WordPress's `image_editor_output_format`), so the
 * test can compare the plugin's sizes metadata with core's under a mapping.
 *
 * @package WP_Edge_Images
 */

add_filter(
	'image_editor_output_format',
	static function ( $formats ) {
		if ( get_option( 'edge_test_webp_output' ) ) {
			$formats['image/jpeg'] = 'image/webp';
		}
		return $formats;
	}
);
