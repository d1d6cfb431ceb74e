<?php
/**
 * Where the worker is: origin and mount path from constants, else from the
 * settings page; the admin token only ever from a constant.
 *
 * @package WP_Edge_Images
 */

defined( 'ABSPATH' ) || exit;

/**
 * Reads the plugin's configuration.
 */
class WP_Edge_Images_Config {

	const OPTION_ORIGIN = 'wp_edge_images_origin';
	const OPTION_MOUNT  = 'wp_edge_images_mount';
	const DEFAULT_MOUNT = '/files';

	/**
	 * The worker's origin, e.g. `https://img.example.com` (no path, no trailing slash); '' when unset.
	 *
	 * @return string
	 */
	public static function origin() {
		$origin = defined( 'WP_EDGE_IMAGES_ORIGIN' ) ? (string) WP_EDGE_IMAGES_ORIGIN : (string) get_option( self::OPTION_ORIGIN, '' );
		return self::normalize_origin( $origin );
	}

	/**
	 * The worker's MOUNT_PATH, e.g. `/files` (leading slash, no trailing slash).
	 *
	 * @return string
	 */
	public static function mount() {
		$mount = defined( 'WP_EDGE_IMAGES_MOUNT' ) ? (string) WP_EDGE_IMAGES_MOUNT : (string) get_option( self::OPTION_MOUNT, self::DEFAULT_MOUNT );
		return self::normalize_mount( $mount );
	}

	/**
	 * The worker's ADMIN_TOKEN, from wp-config.php only (never stored in the database).
	 *
	 * @return string '' when the constant is not defined.
	 */
	public static function token() {
		return defined( 'WP_EDGE_IMAGES_ADMIN_TOKEN' ) ? (string) WP_EDGE_IMAGES_ADMIN_TOKEN : '';
	}

	/**
	 * Whether a worker origin is configured (nothing is rewritten or called without one).
	 *
	 * @return bool
	 */
	public static function enabled() {
		return '' !== self::origin();
	}

	/**
	 * The worker's URL of the uploads folder, e.g. `https://img.example.com/files`.
	 *
	 * @return string
	 */
	public static function base_url() {
		return self::origin() . self::mount();
	}

	/**
	 * Scheme, host and port of a URL; '' when it is not an http(s) URL.
	 *
	 * @param string $origin Value from a constant or the settings form.
	 * @return string
	 */
	public static function normalize_origin( $origin ) {
		$origin = trim( $origin );
		if ( '' === $origin ) {
			return '';
		}
		$parts = wp_parse_url( $origin );
		if ( empty( $parts['scheme'] ) || empty( $parts['host'] ) || ! in_array( strtolower( $parts['scheme'] ), array( 'http', 'https' ), true ) ) {
			return '';
		}
		$host = $parts['host'];
		$port = isset( $parts['port'] ) ? ':' . (int) $parts['port'] : '';
		return strtolower( $parts['scheme'] ) . '://' . $host . $port;
	}

	/**
	 * A mount path with one leading slash and none trailing.
	 *
	 * @param string $mount Value from a constant or the settings form.
	 * @return string
	 */
	public static function normalize_mount( $mount ) {
		$mount = trim( trim( $mount ), '/' );
		if ( '' === $mount || preg_match( '#(^|/)\.\.?(/|$)|[^A-Za-z0-9._~/-]#', $mount ) ) {
			$mount = trim( self::DEFAULT_MOUNT, '/' );
		}
		return '/' . $mount;
	}

	/**
	 * An upload's key in the bucket (the path under the uploads folder) from a file path or a relative path.
	 *
	 * @param string $file Absolute path inside the uploads folder, or a path relative to it.
	 * @return string '' when the file is outside the uploads folder.
	 */
	public static function upload_key( $file ) {
		$file = wp_normalize_path( (string) $file );
		if ( '' === $file ) {
			return '';
		}
		$uploads = wp_get_upload_dir();
		$base    = trailingslashit( wp_normalize_path( $uploads['basedir'] ) );
		if ( 0 === strpos( $file, $base ) ) {
			return substr( $file, strlen( $base ) );
		}
		if ( '/' === $file[0] || preg_match( '#^[A-Za-z]:/#', $file ) ) {
			return '';
		}
		return ltrim( $file, '/' );
	}
}
