<?php
/**
 * Test theme: one cropped size of its own on top of WordPress's defaults.
 *
 * @package Edge_Images_Test
 */

add_action(
	'after_setup_theme',
	static function () {
		add_theme_support( 'post-thumbnails' );
		add_image_size( 'edge-card', 510, 320, true );
	}
);
