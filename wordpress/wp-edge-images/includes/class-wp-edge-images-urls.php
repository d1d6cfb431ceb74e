<?php
/**
 * Upload URLs on the worker.
 *
 * @package WP_Edge_Images
 */

defined( 'ABSPATH' ) || exit;

/**
 * `upload_dir`: the uploads folder's URL becomes the worker's origin plus its
 * mount path. Paths on disk and every other URL stay as they are.
 */
class WP_Edge_Images_Urls {

	/**
	 * Hook in.
	 */
	public static function register() {
		add_filter( 'upload_dir', array( __CLASS__, 'upload_dir' ), 20 );
	}

	/**
	 * Replace `baseurl` (and `url`, which is `baseurl` plus the month folder).
	 *
	 * @param array $uploads wp_upload_dir()'s array.
	 * @return array
	 */
	public static function upload_dir( $uploads ) {
		if ( ! is_array( $uploads ) || ! WP_Edge_Images_Config::enabled() ) {
			return $uploads;
		}
		$base               = WP_Edge_Images_Config::base_url();
		$subdir             = isset( $uploads['subdir'] ) ? (string) $uploads['subdir'] : '';
		$uploads['baseurl'] = $base;
		$uploads['url']     = $base . $subdir;
		return $uploads;
	}
}
