<?php
/**
 * GD editor that records registered sub-sizes without writing them.
 *
 * @package WP_Edge_Images
 */

defined( 'ABSPATH' ) || exit;

require_once __DIR__ . '/trait-wp-edge-images-virtual-subsizes.php';

/**
 * WP_Image_Editor_GD with WP_Edge_Images_Virtual_Subsizes.
 */
class WP_Edge_Images_Editor_GD extends WP_Image_Editor_GD {
	use WP_Edge_Images_Virtual_Subsizes;
}
